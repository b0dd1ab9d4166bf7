"""A user's CSV as forecasting problems: the last `horizon` values of each series are its test."""

from __future__ import annotations

from pathlib import Path

from app.artifacts import ForecastPreprocessing
from training.data.competitions import Problem
from training.data.series import load_series_csv


def user_problems(
    path: Path, horizon: int, season: int, spec: ForecastPreprocessing
) -> list[Problem]:
    """Every series needs the minimum length plus a validation and a test horizon."""
    data = load_series_csv(path, horizon, season, spec.min_length + 2 * horizon)
    return [
        Problem("csv", data.name, season, horizon, s[:-horizon], s[-horizon:]) for s in data.series
    ]
