"""Forecasting: the next `horizon` values of one series (POST /forecast) or many (/forecast/batch).

The model reads the last `window` values, each window scaled by its own mean and spread (shared
preprocessing in app/preprocessing.py), and predicts `max_horizon` values at once; a request for
fewer gets the first `horizon` of them.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Protocol, Self

import numpy as np
from pydantic import BaseModel, Field

from app.artifacts import ForecastPreprocessing, Metadata
from app.batching import Batching
from app.config import Settings
from app.errors import ErrorDetail, InvalidRequest
from app.preprocessing import denormalise, normalise_windows
from app.runtime import Runtime, check_inputs
from app.tasks.base import ModelInfo, ModelRef, StrictRequest

MAX_ABS_VALUE = 1e30  # far beyond any real measurement; keeps squares and sums finite


# Bounds checked by pydantic-core itself: no Python call per value (a series has hundreds).
Value = Annotated[float, Field(ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
# A daily cycle over two weeks of hourly values: as long as the default model's window.
_EXAMPLE = [round(100 + 20 * math.sin(2 * math.pi * t / 24), 1) for t in range(336)]
_SERIES_DOC = "observations, oldest first; at least the model's window (see GET /models)"
_HORIZON_DOC = "values to forecast, at most the model's max_horizon"


class ForecastRequest(StrictRequest):
    series: list[Value] = Field(description=_SERIES_DOC, examples=[_EXAMPLE])
    horizon: int = Field(default=1, ge=1, description=_HORIZON_DOC, examples=[12])


class ForecastResponse(BaseModel):
    forecast: list[float] = Field(description="`horizon` values in the units of the series")
    model: ModelRef


class BatchForecastRequest(StrictRequest):
    series: list[list[Value]] = Field(
        min_length=1, description=f"several series, each {_SERIES_DOC}", examples=[[_EXAMPLE] * 2]
    )
    horizon: int = Field(default=1, ge=1, description=_HORIZON_DOC, examples=[12])


class BatchForecastResponse(BaseModel):
    forecasts: list[list[float]] = Field(description="one forecast per series, in order")
    model: ModelRef


class Forecaster(Protocol):
    @property
    def info(self) -> ModelInfo: ...
    @property
    def window(self) -> int: ...
    @property
    def max_horizon(self) -> int: ...

    async def forecast(self, series: Sequence[Sequence[float]], horizon: int) -> np.ndarray:
        """[len(series), horizon] forecasts, in the units of each series."""
        ...

    def warm_up(self) -> None: ...


def check_limits(
    series: Sequence[Sequence[float]],
    horizon: int,
    model: Forecaster,
    settings: Settings,
    *,
    batch: bool,
) -> None:
    """Limits that depend on the configuration or on the loaded model: 422 naming the field."""
    problems = []
    if batch and len(series) > settings.max_series_batch:
        problems.append(
            ErrorDetail(field="body.series", message=f"at most {settings.max_series_batch} series")
        )
    for i, values in enumerate(series):
        field = f"body.series[{i}]" if batch else "body.series"
        if len(values) < model.window:
            message = f"needs at least {model.window} values (the window), got {len(values)}"
            problems.append(ErrorDetail(field=field, message=message))
        elif len(values) > settings.max_series_length:
            message = f"at most {settings.max_series_length} values, got {len(values)}"
            problems.append(ErrorDetail(field=field, message=message))
    if horizon > model.max_horizon:
        message = f"must be at most {model.max_horizon} (the model's horizon), got {horizon}"
        problems.append(ErrorDetail(field="body.horizon", message=message))
    if problems:
        raise InvalidRequest(problems)


Job = tuple[Sequence[Sequence[float]], int]  # one request: its series and horizon


class ForecastPredictor:
    def __init__(
        self,
        runtime: Runtime,
        spec: ForecastPreprocessing,
        info: ModelInfo,
        batching: Batching | None = None,
    ) -> None:
        self.runtime, self.spec, self.info = runtime, spec, info
        self.window, self.max_horizon = spec.window, spec.horizon
        self._batcher = (batching or Batching()).batcher("forecast", self.predict_jobs)

    @classmethod
    def from_artifact(
        cls, version_dir: Path, metadata: Metadata, runtime: Runtime, batching: Batching
    ) -> Self:
        spec = metadata.preprocessing
        if not isinstance(spec, ForecastPreprocessing):
            raise ValueError(f"metadata describes a {spec.kind} model, not a forecaster")
        check_inputs(runtime, ("window",))
        info = ModelInfo.from_metadata(
            metadata,
            runtime.kind,
            window=spec.window,
            max_horizon=spec.horizon,
            season=spec.season,
        )
        return cls(runtime, spec, info, batching)

    async def forecast(self, series: Sequence[Sequence[float]], horizon: int) -> np.ndarray:
        """Queued with concurrent requests and run with them in one model call."""
        return await self._batcher.submit((series, horizon), rows=len(series))

    def predict(self, series: Sequence[Sequence[float]], horizon: int) -> np.ndarray:
        windows = np.array([values[-self.window :] for values in series], dtype=np.float64)
        inputs, mean, scale = normalise_windows(windows, self.spec)
        outputs = self.runtime.run({"window": inputs})[0]
        return denormalise(outputs[:, :horizon], mean, scale)

    def predict_jobs(self, jobs: Sequence[Job]) -> list[np.ndarray]:
        """Several requests in one model call; each row is scaled on its own, so a request's
        forecast does not depend on what it was batched with."""
        full = self.predict([values for series, _ in jobs for values in series], self.max_horizon)
        bounds = np.cumsum([0] + [len(series) for series, _ in jobs])
        spans = itertools.pairwise(bounds)
        return [full[a:b, :h] for (a, b), (_, h) in zip(spans, jobs, strict=True)]

    def warm_up(self) -> None:
        self.predict([[0.0] * self.window], 1)
