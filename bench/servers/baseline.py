"""Honest baseline: a plain FastAPI handler calling ONNX Runtime on the service's own model.

What a user writes without us: load `model.onnx` into one `InferenceSession` (one intra-op
thread, as the service runs it), and per request validate the body with the service's schema,
build the inputs with the service's preprocessing, run the session, undo the scaling. No
batching, no admission, no logging or metrics. The version directory comes from the
`BENCH_FORECAST_DIR` environment variable (set by bench/scenarios.py).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from fastapi import FastAPI, Request

# The tasks first, as in the service: importing app.schemas.forecast before them is circular.
from app import tasks  # noqa: F401
from app.artifacts import ONNX_FILE, ForecastPreprocessing, read_metadata
from app.preprocessing import apply_correction, forecast_inputs
from app.schemas.forecast import ForecastRequest


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    version_dir = Path(os.environ["BENCH_FORECAST_DIR"])
    spec = read_metadata(version_dir).preprocessing
    if not isinstance(spec, ForecastPreprocessing):
        raise ValueError(f"{version_dir} is not a forecast model")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(version_dir / ONNX_FILE), sess_options=options)
    app.state.spec, app.state.session = spec, session
    forecast_inputs([[1.0] * spec.min_length], np.array([0]), spec)  # compiles the base kernel
    yield


app = FastAPI(title="bench FastAPI + ONNX Runtime baseline", lifespan=lifespan)


@app.get("/ready")
async def ready() -> dict[str, str]:
    """uvicorn accepts connections only after the lifespan has loaded the model."""
    return {"status": "ready"}


@app.post("/forecast")
def forecast(body: ForecastRequest, request: Request) -> dict[str, Any]:
    """One session call per request; a plain `def`, so FastAPI runs it in its threadpool and
    the event loop stays free, as FastAPI's documentation recommends for blocking work."""
    spec: ForecastPreprocessing = request.app.state.spec
    series = [v for v in body.series if v is not None]  # the bench sends no gaps
    inputs = forecast_inputs([series], np.array([body.season_code()]), spec)
    outputs = request.app.state.session.run(None, inputs.arrays)[0]
    values = apply_correction(inputs, outputs, spec)[:, : body.horizon]
    return {"forecast": values[0].tolist()}
