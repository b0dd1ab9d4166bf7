"""/forecast and /forecast/batch: what a request may send and what the answer holds."""

from __future__ import annotations

import math
from typing import Annotated, Literal

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
