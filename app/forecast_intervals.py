"""Prediction intervals and quantiles from an artifact's split-conformal calibration.

Training (training/forecast_intervals.py) forecast each validation row, divided the errors
(actual - forecast) by the row's scale, and stored per group of series and per horizon step the
quantiles of those scaled errors on a grid of probabilities (`ForecastIntervals`). A forecast's
quantile p at step h is then `forecast[h] + scale x q_h(p)`, with q_h read off the grid by linear
interpolation in p: a few numpy operations on forecasts already computed.

- Scale: a blend of the series' in-sample seasonal-naive mean absolute error (MASE's scale) and
  the error the forecaster itself (the model: base plus correction) made on the series' own last
  values, up to three horizons of them (`interval_scales`), over the values the base forecast
  reads; a tiny floor for a constant series.
- Group: the season the request asked for (`season` or `freq`), or the one applied when it was
  inferred; a season without its own calibration uses the pooled one (group 0).
- Steps past a group's calibrated horizon: the last calibrated quantiles times sqrt(h / H), the
  growth of a random walk's spread (an extrapolation, and the response says so).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from app.artifacts import ForecastIntervals, ForecastPreprocessing
from app.forecast_base import SeriesList
from app.preprocessing import base_forecasts

POOLED = 0  # the group every row belongs to; used for seasons without a calibration of their own
_MIN_SCALE = 1e-12  # relative to the series' level: a constant series gets a zero-width fan
# Chosen on validation rows, leaving one training dataset out (M1, M3) at a time: the naive
# scale alone transferred worst (mean ACD 11.6 points at 80%), the backtest alone best (4.6) but
# with the widest intervals on short yearly series; this blend 6.5, with MSIS near the best.
NAIVE_WEIGHT = 0.3
# Horizons of each series' own past that its backtest covers (fewer when they would take more
# than a third of the series). Chosen on non-test rows: ETTh1 windows of its training history,
# with the hourly calibration of the validation rows, covered 68.3 / 91.0% at 80 / 95% with one
# base-forecast backtest, 75.4 / 93.9% with one model backtest, 78.1 / 95.1% with three (two:
# 76.5 / 94.5, four: 77.5 / 95.3); older M4 hourly windows 78.3 / 93.7 -> 80.2 / 95.1.
BACKTEST_WINDOWS = 3

# (histories, season keys) -> [n, horizon] forecasts: what the intervals are built around.
Forecaster = Callable[[SeriesList, np.ndarray], np.ndarray]


def base_forecaster(spec: ForecastPreprocessing) -> Forecaster:
    """The statistical base alone (for a forecast other than the model's: the baselines)."""
    return lambda heads, keys: base_forecasts(heads, keys, spec)[0]


def interval_scales(
    series: SeriesList,
    keys: np.ndarray,
    backtest: np.ndarray,
    spec: ForecastPreprocessing,
    forecaster: Forecaster | None = None,
) -> np.ndarray:
    """[n] each series' scale: (seasonal-naive MAE)^0.3 x (backtest MAE)^0.7 over its last
    `history` values. The first is MASE's scale at season `keys[i]`; the second is the mean
    absolute error of `forecaster` (the base forecast when None) on the last `backtest[i]`
    values (at most a third of the series) from the values before them, and on up to
    BACKTEST_WINDOWS such blocks further back: how forecastable the series has been for the
    forecaster whose forecast the interval surrounds (where the model's correction helps a
    series, or hurts it, its intervals follow). One forecaster call for all blocks."""
    kept = [np.asarray(values[-spec.history :], dtype=np.float64) for values in series]
    steps = [max(1, min(int(k), len(y) // 3)) for y, k in zip(kept, backtest, strict=True)]
    blocks = [  # (row, values before the block, block length, block end)
        (row, len(y) - j * k, k, len(y) - (j - 1) * k)
        for row, (y, k) in enumerate(zip(kept, steps, strict=True))
        for j in range(1, max(1, min(BACKTEST_WINDOWS, len(y) // 3 // k)) + 1)
    ]
    run = forecaster or base_forecaster(spec)
    heads = [kept[row][:origin] for row, origin, _, _ in blocks]
    rows = np.array([row for row, _, _, _ in blocks], dtype=np.int64)
    ahead = run(heads, np.asarray(keys)[rows]) if blocks else np.zeros((0, spec.horizon))
    missed, counted = np.zeros(len(kept)), np.zeros(len(kept))
    for (row, origin, k, end), predicted in zip(blocks, ahead, strict=True):
        missed[row] += np.abs(kept[row][origin:end] - predicted[:k]).sum()
        counted[row] += k
    out = np.empty(len(kept))
    for row, y in enumerate(kept):
        naive = _naive_error(y, int(keys[row]))
        error = missed[row] / counted[row]
        floor = _MIN_SCALE * max(abs(float(y[-1])), 1.0)
        out[row] = max(naive, floor) ** NAIVE_WEIGHT * max(error, floor) ** (1 - NAIVE_WEIGHT)
    return out


def _naive_error(y: np.ndarray, season: int) -> float:
    """In-sample seasonal-naive MAE (1 step when the series is not longer than a season, or
    when that is zero)."""
    season = season if len(y) > season >= 1 else 1
    scale = float(np.abs(y[season:] - y[:-season]).mean())
    return scale if scale > 0 or season == 1 else float(np.abs(np.diff(y)).mean())


class IntervalTables:
    """The calibration as arrays: per group [horizon, probabilities] scaled-error quantiles."""

    def __init__(self, calibration: ForecastIntervals, horizon: int) -> None:
        self.probabilities = np.asarray(calibration.probabilities, dtype=np.float64)
        self.groups = sorted(calibration.groups)
        self.calibrated = {g: calibration.groups[g].horizon for g in self.groups}
        self.tables = np.stack([self._table(calibration, g, horizon) for g in self.groups])

    @staticmethod
    def _table(calibration: ForecastIntervals, group: int, horizon: int) -> np.ndarray:
        errors = np.asarray(calibration.groups[group].errors, dtype=np.float64)
        known = min(len(errors), horizon)
        steps = np.arange(1, horizon + 1, dtype=np.float64)
        growth = np.sqrt(np.maximum(steps[known:] / known, 1.0))[:, None]
        return np.concatenate([errors[:known], errors[known - 1] * growth])

    def group_of(self, keys: np.ndarray) -> np.ndarray:
        """[n] index into `groups` of each row's season key (the pooled one when absent)."""
        pooled = self.groups.index(POOLED) if POOLED in self.groups else 0
        index = {g: i for i, g in enumerate(self.groups)}
        return np.array([index.get(int(k), pooled) for k in keys], dtype=np.int64)

    def calibrated_horizon(self, keys: np.ndarray) -> np.ndarray:
        """[n] steps each row's group was calibrated (and evaluated) on."""
        horizons = np.array([self.calibrated[g] for g in self.groups])
        return horizons[self.group_of(keys)]

    def quantiles(
        self,
        forecasts: np.ndarray,
        scales: np.ndarray,
        keys: np.ndarray,
        probabilities: Sequence[float],
    ) -> np.ndarray:
        """[n, horizon, len(probabilities)] forecast quantiles in the units of each series;
        monotone in the probability (the grid's columns are) and, for an interval, widening
        along the horizon (training made the columns so)."""
        wanted = np.asarray(probabilities, dtype=np.float64)
        position = np.interp(wanted, self.probabilities, np.arange(len(self.probabilities)))
        low = np.minimum(position.astype(np.int64), len(self.probabilities) - 2)
        weight = position - low
        horizon = forecasts.shape[1]
        table = self.tables[self.group_of(keys), :horizon]  # [n, horizon, grid]
        errors = table[:, :, low] * (1.0 - weight) + table[:, :, low + 1] * weight
        return forecasts[:, :, None] + scales[:, None, None] * errors


def level_probabilities(levels: Sequence[float]) -> list[float]:
    """The lower then the upper probability of each central interval (levels in percent)."""
    return [p for level in levels for p in (0.5 - level / 200.0, 0.5 + level / 200.0)]
