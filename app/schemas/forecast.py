"""/forecast and /forecast/batch: what a request may send and what the answer holds."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.tasks.base import ModelRef, StrictRequest

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


_LEVEL_DOC = "central prediction intervals to return, in percent (1-99), e.g. [80, 95]"
_QUANTILES_DOC = "forecast quantiles to return, as probabilities (0.005-0.995), e.g. [0.1, 0.9]"
_GAPS_DOC = (
    "; `null` marks a missing value: leading nulls are dropped, the rest filled (at most 20% "
    "of the values, at most 3 at the end)"
)
_WARNINGS_DOC = "what the service did that the client should know (values filled, ...)"
Level = Annotated[float, Field(ge=1, le=99)]
Probability = Annotated[float, Field(ge=0.005, le=0.995)]
# Echoed as sent, never interpreted (only compared, to refuse duplicates).
SeriesId = Annotated[str, Field(max_length=200)] | int


class ForecastOptions(StrictRequest):
    horizon: int = Field(default=1, ge=1, description=_HORIZON_DOC, examples=[12])
    season: int | None = Field(default=None, ge=1, description=_SEASON_DOC, examples=[12])
    freq: Freq | None = Field(default=None, description=_FREQ_DOC)
    level: list[Level] | None = Field(
        default=None, min_length=1, max_length=8, description=_LEVEL_DOC, examples=[[80, 95]]
    )
    quantiles: list[Probability] | None = Field(
        default=None, min_length=1, max_length=20, description=_QUANTILES_DOC
    )

    def season_code(self) -> int:
        """The requested period, or 0 for 'infer it'."""
        if self.season is not None:
            return self.season
        return FREQ_SEASONS[self.freq] if self.freq is not None else 0

    def probabilities(self) -> tuple[float, ...]:
        """The probabilities to compute: each level's lower and upper, then the quantiles."""
        levels = self.level or []
        bounds = [p for level in levels for p in (0.5 - level / 200.0, 0.5 + level / 200.0)]
        return (*bounds, *(self.quantiles or []))


class ForecastRequest(ForecastOptions):
    series: list[Value | None] = Field(description=_SERIES_DOC + _GAPS_DOC, examples=[_EXAMPLE])


class Interval(BaseModel):
    level: float = Field(description="percent of actual values expected inside")
    lower: list[float]
    upper: list[float]


class Quantile(BaseModel):
    quantile: float
    values: list[float] = Field(
        description="per step: the actual value is below with this probability"
    )


class SeriesForecast(BaseModel):
    """One series' answer. `intervals` and `quantiles` only when asked for."""

    forecast: list[float] = Field(description="`horizon` values in the units of the series")
    season: int = Field(description=_SEASON_OUT)
    intervals: list[Interval] | None = Field(default=None, description="one per `level`, in order")
    quantiles: list[Quantile] | None = Field(default=None, description="one per `quantiles`")
    warnings: list[str] = Field(default_factory=list, description=_WARNINGS_DOC)


_ANSWER: dict[str, Any] = {
    "forecast": [150.2, 148.9],
    "season": 12,
    "intervals": [{"level": 80, "lower": [141.0, 138.7], "upper": [159.4, 159.8]}],
    "warnings": ["season not given: inferred 12"],
}
_MODEL: dict[str, Any] = {"name": "forecast", "version": "1"}


class ForecastResponse(SeriesForecast):
    model: ModelRef

    model_config = {"json_schema_extra": {"examples": [{**_ANSWER, "model": _MODEL}]}}


class BatchForecastRequest(ForecastOptions):
    series: list[list[Value | None]] = Field(
        min_length=1,
        description=f"several series, each {_SERIES_DOC}{_GAPS_DOC}",
        examples=[[_EXAMPLE] * 2],
    )
    ids: list[SeriesId] | None = Field(
        default=None,
        description="optional: one id per series (string or integer, unique), echoed in `results`",
        examples=[["store-1", "store-2"]],
    )


class IdentifiedForecast(SeriesForecast):
    id: SeriesId | None = Field(default=None, description="the request's id of this series")


class BatchForecastResponse(BaseModel):
    forecasts: list[list[float]] = Field(description="one forecast per series, in order")
    seasons: list[int] = Field(description=f"per series: {_SEASON_OUT}")
    results: list[IdentifiedForecast] = Field(
        description="per series, in order: its id (when sent), forecast, intervals, warnings"
    )
    warnings: list[str] = Field(
        default_factory=list, description="every series' warnings, each prefixed by its id or index"
    )
    model: ModelRef

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "forecasts": [_ANSWER["forecast"]],
                    "seasons": [12],
                    "results": [{"id": "store-1", **_ANSWER}],
                    "warnings": ["store-1: season not given: inferred 12"],
                    "model": _MODEL,
                }
            ]
        }
    }
