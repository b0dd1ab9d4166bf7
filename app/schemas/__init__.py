"""HTTP request and response schemas, one module per task; no FastAPI, no model code."""
