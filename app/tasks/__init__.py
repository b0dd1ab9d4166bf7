"""One module per task: request/response schemas, limit checks and the predictor."""
