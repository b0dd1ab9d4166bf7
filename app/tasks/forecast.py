"""Forecasting: the next `horizon` values of one series (POST /forecast) or many (/forecast/batch).

Each series gets a statistical base forecast (seasonal decomposition + Theta, over its last
`history` values) and a bounded correction from the recurrent net, which reads its last `window`
values (shared preprocessing in app/preprocessing.py). The season comes from the request
(`season`, or `freq`), or is inferred from the series; the answer says which was applied.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Self

import numpy as np

from app.artifacts import ForecastIntervals, ForecastPreprocessing, Metadata
from app.batching import Batching
from app.config import Settings
from app.drift import InputProfile, forecast_statistics
from app.exceptions import ErrorDetail, InvalidRequest
from app.forecast_base import SeriesList
from app.forecast_intervals import IntervalTables, interval_scales
from app.preprocessing import apply_correction, forecast_inputs
from app.runtime import Runtime, check_inputs
from app.schemas.forecast import FREQ_SEASONS, ForecastOptions
from app.tasks.base import ModelInfo, TaskDeclaration


@dataclass
class Forecasts:
    values: np.ndarray  # [n, horizon] in the units of each series
    seasons: np.ndarray  # [n] seasonal period applied
    # [n, horizon, probabilities] when asked for (app/forecast_intervals.py)
    quantiles: np.ndarray | None = None
    # [n] steps the model was evaluated on for each series' group (None: not calibrated)
    evaluated: np.ndarray | None = None


class Forecaster(Protocol):
    @property
    def info(self) -> ModelInfo: ...
    @property
    def spec(self) -> ForecastPreprocessing: ...
    @property
    def has_intervals(self) -> bool: ...

    async def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        season: int,
        probabilities: Sequence[float] = (),
    ) -> Forecasts:
        """Forecasts of every series; `season` 0 means infer each series' own; with
        `probabilities`, the forecast's quantiles at each (needs `has_intervals`)."""
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


# One request: series, horizon, season code, probabilities of the quantiles asked for.
Job = tuple[Sequence[Sequence[float]], int, int, Sequence[float]]


class ForecastPredictor:
    def __init__(
        self,
        runtime: Runtime,
        spec: ForecastPreprocessing,
        info: ModelInfo,
        batching: Batching | None = None,
        reference: Mapping[str, Sequence[float]] | None = None,
        intervals: ForecastIntervals | None = None,
    ) -> None:
        self.runtime, self.spec, self.info = runtime, spec, info
        self.intervals = IntervalTables(intervals, spec.horizon) if intervals else None
        self.profile = InputProfile("forecast", reference)  # what it is sent (app/drift.py)
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
        return cls(runtime, spec, info, batching, metadata.input_profile, metadata.intervals)

    @property
    def has_intervals(self) -> bool:
        return self.intervals is not None

    async def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        season: int,
        probabilities: Sequence[float] = (),
    ) -> Forecasts:
        """Queued with concurrent requests and run with them in one model call."""
        job = (series, horizon, season, probabilities)
        return await self._batcher.submit(job, rows=len(series))

    def predict(self, series: SeriesList, seasons: np.ndarray) -> Forecasts:
        """Full-horizon forecasts; each row is encoded on its own, so a request's forecast does
        not depend on what it was batched with."""
        inputs = forecast_inputs(series, seasons, self.spec)
        correction = self.runtime.run(inputs.arrays)[0]
        return Forecasts(apply_correction(inputs, correction, self.spec), inputs.seasons)

    def point_forecasts(self, series: SeriesList, seasons: np.ndarray) -> np.ndarray:
        """[n, horizon] forecasts alone (app/forecast_intervals.Forecaster)."""
        return self.predict(series, seasons).values

    def predict_jobs(self, jobs: Sequence[Job]) -> list[Forecasts]:
        """Several requests in one model call."""
        codes = np.concatenate([np.full(len(series), code) for series, _, code, _ in jobs])
        rows = [values for series, _, _, _ in jobs for values in series]
        full = self.predict(rows, codes)
        self.profile.observe(forecast_statistics(rows, full.seasons, self.spec.window))
        bounds = np.cumsum([0] + [len(series) for series, _, _, _ in jobs])
        spans = itertools.pairwise(bounds)
        return [
            self._with_quantiles(rows[a:b], full.values[a:b, :h], full.seasons[a:b], code, wanted)
            for (a, b), (_, h, code, wanted) in zip(spans, jobs, strict=True)
        ]

    def _with_quantiles(
        self,
        series: Sequence[Sequence[float]],
        values: np.ndarray,
        seasons: np.ndarray,
        code: int,
        probabilities: Sequence[float],
    ) -> Forecasts:
        """The quantiles asked for, from the calibration's group of each series: the season
        requested, or the one applied when it was inferred."""
        if self.intervals is None:
            return Forecasts(values, seasons)
        keys = np.full(len(series), code) if code else seasons
        evaluated = self.intervals.calibrated_horizon(keys)
        if not probabilities:
            return Forecasts(values, seasons, evaluated=evaluated)
        # The scale backtests the model itself: a second model call, on the series' pasts.
        scales = interval_scales(series, keys, evaluated, self.spec, self.point_forecasts)
        quantiles = self.intervals.quantiles(values, scales, keys, probabilities)
        return Forecasts(values, seasons, quantiles, evaluated)

    def warm_up(self) -> None:
        self.predict([[0.0] * self.spec.min_length], np.zeros(1, dtype=np.int64))


DECLARATION = TaskDeclaration(
    "forecast", ForecastPredictor.from_artifact, "app.routes.forecast:router"
)
