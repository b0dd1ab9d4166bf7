"""One router per resource; each route validates, calls a predictor off the event loop, shapes."""
