"""Naive baseline: the Keras forecast model's `model.predict` per request, in FastAPI's threadpool.

This is what a user would write first: load `model.keras`, scale the window like training did,
call `model.predict(x, verbose=0)` for every request. The version directory comes from the
`BENCH_FORECAST_DIR` environment variable (set by bench/scenarios.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request

# The tasks first, as in the service: importing app.schemas.forecast before them is circular.
from app import tasks  # noqa: F401
from app.artifacts import KERAS_FILE, ForecastPreprocessing, read_metadata
from app.preprocessing import apply_correction, forecast_inputs
from app.schemas.forecast import ForecastRequest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    import keras  # imported here so that importing this module stays cheap

    version_dir = Path(os.environ["BENCH_FORECAST_DIR"])
    spec = read_metadata(version_dir).preprocessing
    if not isinstance(spec, ForecastPreprocessing):
        raise ValueError(f"{version_dir} is not a forecast model")
    model = keras.saving.load_model(version_dir / KERAS_FILE, safe_mode=True, compile=False)
    app.state.spec, app.state.model = spec, model
    yield


app = FastAPI(title="bench model.predict baseline", lifespan=lifespan)


@app.get("/ready")
async def ready() -> dict[str, str]:
    """uvicorn accepts connections only after the lifespan has loaded the model."""
    return {"status": "ready"}


@app.post("/forecast")
def forecast(body: ForecastRequest, request: Request) -> dict[str, Any]:
    """One `model.predict` call per request (a sync endpoint: FastAPI runs it in a thread)."""
    spec: ForecastPreprocessing = request.app.state.spec
    series = [v for v in body.series if v is not None]  # the bench sends no gaps
    inputs = forecast_inputs([series], np.array([body.season_code()]), spec)
    outputs = request.app.state.model.predict(inputs.arrays, verbose=0)
    values = apply_correction(inputs, outputs, spec)[:, : body.horizon]
    return {"forecast": values[0].tolist()}
