"""Split-conformal calibration of the forecast's intervals, and their scores on the test parts.

Calibration reads only the validation split (the last official horizon of every training
history, which no training step saw): each row's errors are divided by its scale (a blend of
its seasonal-naive MAE and the model's own backtest error on the series' past,
app/forecast_intervals.py), grouped by
season (hourly 24, monthly 12, quarterly 4, none 1; and all rows pooled), and per horizon
step the quantiles of those scaled errors on a grid of probabilities become the artifact's
`intervals`. Serving adds them, times the request's scale, to its forecast.

Scores follow the M4 competition: coverage of each interval, its absolute coverage difference
(ACD, in points) and the mean scaled interval score (MSIS: width plus 2 / alpha times each miss,
divided by the in-sample seasonal-naive MAE of the whole history). The baseline is seasonal
naive with intervals calibrated the same way on the same validation rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.optimize import isotonic_regression

from app.artifacts import ForecastIntervals, ForecastPreprocessing, IntervalGroup
from app.forecast_intervals import (
    POOLED,
    Forecaster,
    IntervalTables,
    interval_scales,
    level_probabilities,
)
from training.data.windows import Samples

# The grid serving interpolates in: every percent, plus the tails of 95% and 99% intervals.
PERCENTS = {round(0.01 * k, 2) for k in range(1, 100)}
PROBABILITIES = tuple(sorted(PERCENTS | {0.005, 0.025, 0.975, 0.995}))
LEVELS = (80, 95)  # the intervals the report scores
MIN_GROUP_ROWS = 100  # fewer validation rows in a season: its series use the pooled calibration


def calibrate(
    samples: Samples,
    forecasts: np.ndarray,
    spec: ForecastPreprocessing,
    forecaster: Forecaster | None = None,
) -> ForecastIntervals:
    """Per season with enough rows, and pooled, the widening quantiles of the scaled errors.
    Each row is scaled as serving would scale it: with its group's calibrated horizon, and the
    backtest of `forecaster` (what made `forecasts`; the base forecast when None)."""
    members = {POOLED: np.arange(len(samples.groups))}
    for season in np.unique(samples.seasons):
        rows = np.flatnonzero(samples.seasons == season)
        if len(rows) >= MIN_GROUP_ROWS:
            members[int(season)] = rows
    horizons = {group: _calibrated_horizon(samples.valid[rows]) for group, rows in members.items()}
    backtest = np.array([horizons.get(int(s), horizons[POOLED]) for s in samples.seasons])
    scales = interval_scales(samples.histories, samples.seasons, backtest, spec, forecaster)
    errors = np.where(samples.valid, (samples.targets - forecasts) / scales[:, None], np.nan)
    groups = {group: _group(errors[rows], horizons[group]) for group, rows in members.items()}
    return ForecastIntervals(probabilities=PROBABILITIES, groups=groups)


def _calibrated_horizon(valid: np.ndarray) -> int:
    """The last step at least half of the rows reach (the group's official horizon)."""
    counts = valid.sum(axis=0)
    return int(np.flatnonzero(counts >= max(1, len(valid) // 2)).max(initial=0)) + 1


def _group(errors: np.ndarray, horizon: int) -> IntervalGroup:
    """Quantiles per step, each with the finite-sample correction of split conformal
    prediction ((n + 1) / n further from the median). Each quantile's distance from the step's
    median is then fitted by isotonic regression (weighted by the rows per step) to grow with
    the horizon, so that every interval widens: a running maximum would do it too, but would
    carry each step's sampling noise upward to all later steps (wider than needed)."""
    grid = np.asarray(PROBABILITIES)
    columns, counts = [], []
    for step in range(horizon):
        known = errors[np.isfinite(errors[:, step]), step]
        n = len(known)
        widened = np.clip(0.5 + (grid - 0.5) * (n + 1) / n, 0.0, 1.0)
        columns.append(np.quantile(known, widened))
        counts.append(n)
    table = np.stack(columns)  # [horizon, grid]
    median = table[:, [PROBABILITIES.index(0.5)]]
    spread = table - median  # >= 0 above the median, <= 0 below
    for j, p in enumerate(PROBABILITIES):
        spread[:, j] = isotonic_regression(spread[:, j], weights=counts, increasing=p > 0.5).x
    table = median + spread
    # Not rounded: rounding median and spread together could narrow a later step a little.
    errors_per_step = tuple(tuple(float(v) for v in row) for row in table)
    return IntervalGroup(rows=len(errors), horizon=horizon, errors=errors_per_step)


def interval_forecasts(
    calibration: ForecastIntervals,
    samples: Samples,
    forecasts: np.ndarray,
    spec: ForecastPreprocessing,
    forecaster: Forecaster | None = None,
) -> np.ndarray:
    """[n, horizon, 2 x len(LEVELS)] lower and upper bounds, by the serving code."""
    tables = IntervalTables(calibration, spec.horizon)
    keys = samples.seasons
    evaluated = tables.calibrated_horizon(keys)
    scales = interval_scales(samples.histories, keys, evaluated, spec, forecaster)
    return tables.quantiles(forecasts, scales, keys, level_probabilities(LEVELS))


def interval_scores(
    samples: Samples, bounds: dict[str, np.ndarray], prefix: str
) -> dict[str, float]:
    """`{prefix}{group}/{method}_{cov|acd|msis}{level}` for the groups `scores` reports."""
    pairs = zip(samples.histories, samples.seasons, strict=True)
    scale = np.array([_msis_scale(history, int(season)) for history, season in pairs])
    metrics: dict[str, float] = {}
    for group, rows in _groups(samples):
        valid = samples.valid[rows]
        actual = samples.targets[rows]
        for method, both in bounds.items():
            for k, level in enumerate(LEVELS):
                lower, upper = both[rows, :, 2 * k], both[rows, :, 2 * k + 1]
                inside = (actual >= lower) & (actual <= upper)
                coverage = 100.0 * inside[valid].mean()
                alpha = 1.0 - level / 100.0
                penalty = (upper - lower) + (2.0 / alpha) * (
                    np.maximum(lower - actual, 0.0) + np.maximum(actual - upper, 0.0)
                )
                per_row = np.where(valid, penalty, 0.0).sum(axis=1) / valid.sum(axis=1)
                key = f"{prefix}{group}/{method}"
                metrics[f"{key}_cov{level}"] = float(coverage)
                metrics[f"{key}_acd{level}"] = float(abs(coverage - level))
                metrics[f"{key}_msis{level}"] = float((per_row / scale[rows]).mean())
    return metrics


def _msis_scale(history: np.ndarray, season: int) -> float:
    """M4's MSIS denominator: the in-sample seasonal-naive MAE of the whole history."""
    m = season if len(history) > season else 1
    scale = float(np.abs(history[m:] - history[:-m]).mean())
    return scale if scale > 0 else 1.0


def _groups(samples: Samples) -> Iterator[tuple[str, np.ndarray]]:
    """Each "dataset/frequency", each "dataset/all" and "all", with its rows."""
    groups = np.array(samples.groups)
    datasets = np.array([g.split("/")[0] for g in samples.groups])
    for group in sorted(set(samples.groups)):
        yield group, np.flatnonzero(groups == group)
    for dataset in sorted(set(datasets)):
        yield f"{dataset}/all", np.flatnonzero(datasets == dataset)
    yield "all", np.arange(len(groups))


def calibrate_and_score(
    validation: Samples,
    val_forecasts: np.ndarray,
    test: Samples,
    test_forecasts: np.ndarray,
    spec: ForecastPreprocessing,
    model: Forecaster,
) -> tuple[ForecastIntervals, dict[str, float], np.ndarray]:
    """The model's calibration, its interval scores on the test parts beside seasonal naive's
    (calibrated alike on the same validation rows, scaled by the base forecast's backtest), and
    the model's test bounds (for the plot). `model` forecasts as serving's model does."""
    from training.forecast_eval import seasonal_naive

    calibration = calibrate(validation, val_forecasts, spec, model)
    naive_calibration = calibrate(validation, seasonal_naive(validation), spec)
    bounds = {
        "model": interval_forecasts(calibration, test, test_forecasts, spec, model),
        "snaive": interval_forecasts(naive_calibration, test, seasonal_naive(test), spec),
    }
    metrics = interval_scores(test, bounds, "test/")
    for dataset in sorted({g.split("/")[0] for g in test.groups}):
        key = f"test/{dataset}/all"
        shown = ", ".join(
            f"{level}% {metrics[f'{key}/model_cov{level}']:.1f} "
            f"(seasonal naive {metrics[f'{key}/snaive_cov{level}']:.1f})"
            for level in LEVELS
        )
        print(f"forecast: interval coverage on {dataset}: {shown}")
    return calibration, metrics, bounds["model"]
