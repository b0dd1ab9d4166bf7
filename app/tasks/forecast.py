"""Forecasting: the next `horizon` values of one series (POST /forecast) or many (/forecast/batch).

Each series gets a statistical base forecast (seasonal decomposition + Theta, over its last
`history` values) and a bounded correction from the recurrent net, which reads its last `window`
values (shared preprocessing in app/preprocessing.py). The season comes from the request
(`season`, or `freq`), or is inferred from the series; the answer says which was applied.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Protocol, Self

import numpy as np
from pydantic import BaseModel, Field

from app.artifacts import ForecastPreprocessing, Metadata
from app.batching import Batching
from app.config import Settings
from app.exceptions import ErrorDetail, InvalidRequest
from app.preprocessing import apply_correction, forecast_inputs
from app.runtime import Runtime, check_inputs
from app.tasks.base import ModelInfo, ModelRef, StrictRequest, TaskDeclaration

MAX_ABS_VALUE = 1e30  # far beyond any real measurement; keeps squares and sums finite
# Seasonal period per frequency name. Weekly data's yearly cycle (52) needs three years of
# values to pass the seasonality test; shorter weekly series are forecast without a season.
FREQ_SEASONS = {"hourly": 24, "daily": 7, "weekly": 52, "monthly": 12, "quarterly": 4, "yearly": 1}
Freq = Literal["hourly", "daily", "weekly", "monthly", "quarterly", "yearly"]

# Bounds checked by pydantic-core itself: no Python call per value (a series has hundreds).
Value = Annotated[float, Field(ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
_EXAMPLE = [round(100 + 20 * math.sin(2 * math.pi * t / 12) + t, 1) for t in range(48)]
_SERIES_DOC = "observations, oldest first, equally spaced; at least min_length (see GET /models)"
_HORIZON_DOC = "values to forecast, at most the model's max_horizon"
_SEASON_DOC = "seasonal period (1: none); leave out, with freq, to infer it from the series"
_FREQ_DOC = "frequency, for its usual season (hourly 24, daily 7, weekly 52, ...)"
_SEASON_OUT = "seasonal period applied: 1 when none (or when the series fails the test)"


class ForecastOptions(StrictRequest):
    horizon: int = Field(default=1, ge=1, description=_HORIZON_DOC, examples=[12])
    season: int | None = Field(default=None, ge=1, description=_SEASON_DOC, examples=[12])
    freq: Freq | None = Field(default=None, description=_FREQ_DOC)

    def season_code(self) -> int:
        """The requested period, or 0 for 'infer it'."""
        if self.season is not None:
            return self.season
        return FREQ_SEASONS[self.freq] if self.freq is not None else 0


class ForecastRequest(ForecastOptions):
    series: list[Value] = Field(description=_SERIES_DOC, examples=[_EXAMPLE])


class ForecastResponse(BaseModel):
    forecast: list[float] = Field(description="`horizon` values in the units of the series")
    season: int = Field(description=_SEASON_OUT)
    model: ModelRef


class BatchForecastRequest(ForecastOptions):
    series: list[list[Value]] = Field(
        min_length=1, description=f"several series, each {_SERIES_DOC}", examples=[[_EXAMPLE] * 2]
    )


class BatchForecastResponse(BaseModel):
    forecasts: list[list[float]] = Field(description="one forecast per series, in order")
    seasons: list[int] = Field(description=f"per series: {_SEASON_OUT}")
    model: ModelRef


@dataclass
class Forecasts:
    values: np.ndarray  # [n, horizon] in the units of each series
    seasons: np.ndarray  # [n] seasonal period applied


class Forecaster(Protocol):
    @property
    def info(self) -> ModelInfo: ...
    @property
    def spec(self) -> ForecastPreprocessing: ...

    async def forecast(
        self, series: Sequence[Sequence[float]], horizon: int, season: int
    ) -> Forecasts:
        """Forecasts of every series; `season` 0 means infer each series' own."""
        ...

    def warm_up(self) -> None: ...


def check_limits(
    series: Sequence[Sequence[float]],
    options: ForecastOptions,
    model: Forecaster,
    settings: Settings,
    *,
    batch: bool,
) -> None:
    """Limits that depend on the configuration or on the loaded model: 422 naming the field."""
    spec = model.spec
    problems = []
    if batch and len(series) > settings.max_series_batch:
        problems.append(
            ErrorDetail(field="body.series", message=f"at most {settings.max_series_batch} series")
        )
    for i, values in enumerate(series):
        field = f"body.series[{i}]" if batch else "body.series"
        if len(values) < spec.min_length:
            message = f"needs at least {spec.min_length} values, got {len(values)}"
            problems.append(ErrorDetail(field=field, message=message))
        elif len(values) > settings.max_series_length:
            message = f"at most {settings.max_series_length} values, got {len(values)}"
            problems.append(ErrorDetail(field=field, message=message))
    if options.horizon > spec.horizon:
        message = f"must be at most {spec.horizon} (the model's horizon), got {options.horizon}"
        problems.append(ErrorDetail(field="body.horizon", message=message))
    if options.season is not None and options.freq is not None:
        message = "give season or freq, not both"
        problems.append(ErrorDetail(field="body.freq", message=message))
    if options.season is not None and options.season > spec.max_season:
        message = f"must be at most {spec.max_season}, got {options.season}"
        problems.append(ErrorDetail(field="body.season", message=message))
    if problems:
        raise InvalidRequest(problems)


Job = tuple[Sequence[Sequence[float]], int, int]  # one request: series, horizon, season code


class ForecastPredictor:
    def __init__(
        self,
        runtime: Runtime,
        spec: ForecastPreprocessing,
        info: ModelInfo,
        batching: Batching | None = None,
    ) -> None:
        self.runtime, self.spec, self.info = runtime, spec, info
        self._batcher = (batching or Batching()).batcher("forecast", self.predict_jobs)

    @classmethod
    def from_artifact(
        cls, version_dir: Path, metadata: Metadata, runtime: Runtime, batching: Batching
    ) -> Self:
        spec = metadata.preprocessing
        if not isinstance(spec, ForecastPreprocessing):
            raise ValueError(f"metadata describes a {spec.kind} model, not a forecaster")
        check_inputs(runtime, ("window", "observed", "context"))
        info = ModelInfo.from_metadata(
            metadata,
            runtime.kind,
            min_length=spec.min_length,
            window=spec.window,
            max_horizon=spec.horizon,
            max_season=spec.max_season,
            freq=FREQ_SEASONS,
        )
        return cls(runtime, spec, info, batching)

    async def forecast(
        self, series: Sequence[Sequence[float]], horizon: int, season: int
    ) -> Forecasts:
        """Queued with concurrent requests and run with them in one model call."""
        return await self._batcher.submit((series, horizon, season), rows=len(series))

    def predict(self, series: Sequence[Sequence[float]], seasons: np.ndarray) -> Forecasts:
        """Full-horizon forecasts; each row is encoded on its own, so a request's forecast does
        not depend on what it was batched with."""
        inputs = forecast_inputs(series, seasons, self.spec)
        correction = self.runtime.run(inputs.arrays)[0]
        return Forecasts(apply_correction(inputs, correction, self.spec), inputs.seasons)

    def predict_jobs(self, jobs: Sequence[Job]) -> list[Forecasts]:
        """Several requests in one model call."""
        codes = np.concatenate([np.full(len(series), code) for series, _, code in jobs])
        full = self.predict([values for series, _, _ in jobs for values in series], codes)
        bounds = np.cumsum([0] + [len(series) for series, _, _ in jobs])
        spans = itertools.pairwise(bounds)
        return [
            Forecasts(full.values[a:b, :h], full.seasons[a:b])
            for (a, b), (_, h, _) in zip(spans, jobs, strict=True)
        ]

    def warm_up(self) -> None:
        self.predict([[0.0] * self.spec.min_length], np.zeros(1, dtype=np.int64))


DECLARATION = TaskDeclaration(
    "forecast", ForecastPredictor.from_artifact, "app.routes.forecast:router"
)
