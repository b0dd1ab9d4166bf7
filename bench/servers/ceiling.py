"""Hello-world ceiling: parses the same request body as the service's /forecast, runs no model.

Whatever this server reaches on the machine is the most any FastAPI + uvicorn endpoint with that
body can reach, so the service's throughput is reported as a fraction of it.
"""

from __future__ import annotations

from fastapi import FastAPI

# The tasks first, as in the service: importing app.schemas.forecast before them is circular.
from app import tasks  # noqa: F401
from app.schemas.forecast import ForecastRequest

app = FastAPI(title="bench ceiling")
_ANSWER = {"status": "ok"}


@app.get("/ready")
async def ready() -> dict[str, str]:
    """Always ready: there is nothing to load."""
    return _ANSWER


@app.post("/forecast")
async def forecast(body: ForecastRequest) -> dict[str, str]:
    """Validate the body exactly as the service does, then answer a constant."""
    return _ANSWER
