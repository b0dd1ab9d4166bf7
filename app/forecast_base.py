"""The statistical base forecast under the recurrent correction, in vectorised numpy.

Series arrive as a matrix left-padded with each row's first value (`pad_left`), so every row ends
at the same column and padding changes nothing below: a first-value run leaves exponential
smoothing at its first value and adds zero one-step errors. All work is over whole arrays; the
only Python loops run over the smoothing grid and over distinct seasons, never over values.

Base forecast (the Theta method of Assimakopoulos and Nikolopoulos, as used by the M3 and M4
benchmarks): if the series passes the M4 seasonality test at its period, divide out (or subtract,
when a value is <= 0) the classical decomposition's seasonal indices; then forecast the adjusted
series by exponential smoothing plus half the slope of its least-squares line; reseasonalise.
On M3 this seasonal Theta alone scores sMAPE 12.8 (the published Theta: 13.01). Long seasonal
series (16 seasons or more, e.g. hourly data) switch to seasonal naive when it forecast their
last season better: on M4 hourly Theta alone has MASE 2.45, seasonal naive 1.19. Theta itself,
with its guards for level shifts and exponential growth, is app/forecast_theta.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import convolve1d

from app.forecast_theta import observed_mask, theta

# Requests bring lists of floats; training brings numpy arrays.
SeriesList = Sequence[Sequence[float] | np.ndarray]

SEASON_TEST_Z = 1.645  # the M4 benchmarks' 90% test on the autocorrelation at the period
INFER_MIN_ACF = 0.3  # an inferred season needs at least this autocorrelation of the differences
SELECT_MIN_SEASONS = 16  # series this many seasons long may get seasonal naive as their base
# ... or this many, for seasons of a day of hourly data or longer: on such data seasonal naive
# is the stronger of the two (M4 hourly's training histories: Theta MASE 2.45, seasonal naive
# 1.19), so four days are enough evidence.
SELECT_MIN_SEASONS_HIGH, HIGH_SEASON = 4, 24


def pad_left(series: SeriesList, width: int) -> tuple[np.ndarray, np.ndarray]:
    """([n, width] float64 of each series' last `width` values, left-padded with its first
    kept value; [n] counts of real values)."""
    values = np.empty((len(series), width), dtype=np.float64)
    lengths = np.empty(len(series), dtype=np.int64)
    for row, seq in enumerate(series):  # one numpy copy per series
        kept = np.asarray(seq[-width:], dtype=np.float64)
        values[row, width - len(kept) :] = kept
        values[row, : width - len(kept)] = kept[0]
        lengths[row] = len(kept)
    return values, lengths


def autocorrelation(values: np.ndarray, lengths: np.ndarray, max_lag: int) -> np.ndarray:
    """[n, max_lag + 1] sample autocorrelation of the real part of each row (lag 0 = 1)."""
    mask = observed_mask(lengths, values.shape[1])
    mean = np.where(mask, values, 0.0).sum(axis=1, keepdims=True) / lengths[:, None]
    centred = np.where(mask, values - mean, 0.0)
    size = 1 << int(2 * values.shape[1] - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=1)[:, : max_lag + 1]
    return acov / np.maximum(acov[:, :1], 1e-300)


def _acf_limit(acf: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[n, lags] Bartlett bound at each lag k: z * sqrt((1 + 2 sum_{j<k} acf_j^2) / n)."""
    squares = np.cumsum(acf[:, 1:] ** 2, axis=1) - acf[:, 1:] ** 2
    bound = SEASON_TEST_Z * np.sqrt((1 + 2 * squares) / lengths[:, None])
    return np.concatenate([np.ones_like(bound[:, :1]), bound], axis=1)


def infer_seasons(values: np.ndarray, lengths: np.ndarray, max_season: int) -> np.ndarray:
    """The documented rule: among lags 2..min(max_season, (n - 1) // 3) where the
    autocorrelation of the first differences has a local maximum that is significant and at
    least INFER_MIN_ACF, the lag with the highest one; 1 (no season) when there is none."""
    max_lag = max(2, min(max_season, (values.shape[1] - 1) // 3))
    acf = autocorrelation(np.diff(values, axis=1), lengths - 1, max_lag + 1)
    lags = np.arange(max_lag + 2)
    peak = (acf[:, 1:-1] >= acf[:, :-2]) & (acf[:, 1:-1] >= acf[:, 2:])
    ok = (
        peak[:, 1:]  # lags 2..max_lag
        & (lags[None, 2:-1] <= (lengths[:, None] - 2) // 3)
        & (acf[:, 2:-1] >= INFER_MIN_ACF)
        & (acf[:, 2:-1] > _acf_limit(acf, lengths - 1)[:, 2:-1])
    )
    scores = np.where(ok, acf[:, 2:-1], -np.inf)
    best = scores.argmax(axis=1) + 2
    return np.where(np.isfinite(scores.max(axis=1)), best, 1).astype(np.int64)


def passes_season_test(values: np.ndarray, lengths: np.ndarray, season: int) -> np.ndarray:
    """M4's rule: at least three seasons of data and a significant autocorrelation at `season`."""
    if season <= 1:
        return np.zeros(len(values), dtype=bool)
    acf = autocorrelation(values, lengths, season)
    limit = _acf_limit(acf, lengths)[:, season]
    return (lengths >= 3 * season) & (np.abs(acf[:, season]) > limit)


def seasonal_indices(
    values: np.ndarray, lengths: np.ndarray, season: int, multiplicative: np.ndarray
) -> np.ndarray:
    """[n, season] classical-decomposition indices by phase; phase p is p steps before the last
    value, modulo `season`. Multiplicative rows average y / trend, the rest y - trend."""
    width = values.shape[1]
    half = season // 2
    # Centred moving average: order `season`, or 2 x `season` when the season is even.
    weights = np.ones(season + 1 - season % 2)
    if season % 2 == 0:
        weights[[0, -1]] = 0.5
    weights /= season
    trend = convolve1d(values, weights, axis=1, mode="nearest")
    column = np.arange(width)
    inside = (column >= half) & (column < width - half)
    valid = inside[None, :] & (column[None, :] - half >= (width - lengths)[:, None])
    # Each branch divides only where it is taken (additive rows may hold zeros).
    mult = multiplicative[:, None]
    ratio = np.where(mult, values / np.where(valid & mult, trend, 1.0), values - trend)
    sums = _by_phase(np.where(valid, ratio, 0.0), season)
    counts = _by_phase(valid.astype(np.float64), season)
    neutral = np.where(multiplicative, 1.0, 0.0)[:, None]
    indices = np.where(counts > 0, sums / np.maximum(counts, 1.0), neutral)
    centre = indices.mean(axis=1, keepdims=True)
    return np.where(mult, indices / np.where(mult, centre, 1.0), indices - centre)


def _by_phase(values: np.ndarray, season: int) -> np.ndarray:
    """[n, season] sums of each row's values by phase (p steps before the last column, modulo
    season). Plain additions row by row, never BLAS: a row's result must not depend on how
    many rows it is computed with, so a forecast does not depend on its batch."""
    cycles = -(-values.shape[1] // season)
    padded = np.zeros((len(values), cycles * season))
    padded[:, cycles * season - values.shape[1] :] = values
    return padded.reshape(len(values), cycles, season).sum(axis=1)[:, ::-1]


def base_forecast(
    values: np.ndarray, lengths: np.ndarray, seasons: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """([n, horizon] base forecasts, [n] seasons applied: the period, or 1 if the test failed).

    Seasonal Theta; but a series holding at least SELECT_MIN_SEASONS seasons (or
    SELECT_MIN_SEASONS_HIGH of a season of HIGH_SEASON or more: hourly data) gets seasonal
    naive instead when that forecast its last season better than
    Theta did from the values before it: long series show which of the two suits them.
    """
    forecast, applied = seasonal_theta(values, lengths, seasons, horizon)
    width = values.shape[1]
    seasons_needed = np.where(applied >= HIGH_SEASON, SELECT_MIN_SEASONS_HIGH, SELECT_MIN_SEASONS)
    long = (applied > 1) & (lengths >= seasons_needed * applied)
    for season in np.unique(applied[long]):
        rows = np.flatnonzero(long & (applied == season))
        head = np.repeat(values[rows, :1], season, axis=1)
        before = np.concatenate([head, values[rows, :-season]], axis=1)
        held, _ = seasonal_theta(before, lengths[rows] - season, applied[rows], int(season))
        last = values[rows, -season:]
        theta_error = np.abs(last - held).mean(axis=1)
        naive_error = np.abs(last - values[rows, -2 * season : -season]).mean(axis=1)
        repeat = values[rows][:, width - season + np.arange(horizon) % season]
        forecast[rows] = np.where((naive_error < theta_error)[:, None], repeat, forecast[rows])
    return forecast, applied


def seasonal_theta(
    values: np.ndarray, lengths: np.ndarray, seasons: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Theta on the seasonally adjusted series, reseasonalised; and the seasons applied."""
    applied = np.ones(len(values), dtype=np.int64)
    adjusted = values.copy()
    scale_ahead = np.ones((len(values), horizon))  # multiplicative indices ahead
    shift_ahead = np.zeros((len(values), horizon))  # additive indices ahead
    multiplicative = np.asarray(values.min(axis=1) > 0)
    width = values.shape[1]
    for season in np.unique(seasons):
        rows = np.flatnonzero(seasons == season)
        rows = rows[passes_season_test(values[rows], lengths[rows], int(season))]
        if not len(rows):
            continue
        applied[rows] = season
        mult = multiplicative[rows][:, None]
        indices = seasonal_indices(values[rows], lengths[rows], int(season), mult[:, 0])
        past = indices[:, (width - 1 - np.arange(width)) % season]
        ahead = indices[:, (-np.arange(1, horizon + 1)) % season]
        adjusted[rows] = np.where(
            mult, values[rows] / np.where(mult, past, 1.0), values[rows] - past
        )
        scale_ahead[rows] = np.where(mult, ahead, 1.0)
        shift_ahead[rows] = np.where(mult, 0.0, ahead)
    mask = observed_mask(lengths, width)
    first_real = np.take_along_axis(adjusted, (width - lengths)[:, None], axis=1)
    adjusted = np.where(mask, adjusted, first_real)  # re-pad after adjustment
    return theta(adjusted, lengths, horizon) * scale_ahead + shift_ahead, applied
