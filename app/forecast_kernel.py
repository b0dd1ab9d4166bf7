"""The base forecast of app/forecast_base.py, compiled with numba, one series at a time.

Same method, same rules, same figures (to rounding: tests/test_forecast_kernel.py compares the
two): season inference, the M4 seasonality test, classical decomposition, Theta as exponential
smoothing with drift over a grid of weights, and the seasonal-naive switch for long series. The
numpy version works on whole padded matrices and pays numpy's per-call overhead dozens of times
per request (milliseconds for one series); this one runs over each series' own values in plain
loops (tens of microseconds), and a row's result never depends on the other rows.

Compiled on first use (about 25 s on one core; serving warms it up before reporting ready) and
cached by numba where it can write: NUMBA_CACHE_DIR when set, else app/__pycache__. The serving
images compile it at build time (`compile_for_serving`) and copy that cache into a writable
NUMBA_CACHE_DIR at start (scripts/serve-entrypoint.sh), so a container is ready in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import numba
import numpy as np
from numba import njit

from app.forecast_base import (
    HIGH_SEASON,
    INFER_MIN_ACF,
    SEASON_TEST_Z,
    SELECT_MIN_SEASONS,
    SELECT_MIN_SEASONS_HIGH,
)
from app.forecast_theta import BREAK_DOMINANCE, BREAK_SIGMAS, GROWTH_GAIN, SES_ALPHAS

_ALPHAS = SES_ALPHAS.astype(np.float64)


def _numba_can_cache() -> bool:
    """Whether numba can write its cache: with cache=True where it cannot, it refuses to compile at
    all, so a read-only container without a writable NUMBA_CACHE_DIR compiles uncached instead."""
    where = Path(getattr(numba.config, "CACHE_DIR", "") or Path(__file__).parent)  # NUMBA_CACHE_DIR
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(where, os.W_OK)


_CACHE = _numba_can_cache()


@njit(cache=_CACHE)
def _acf(y: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelation at lags 0..max_lag (lag 0 = 1)."""
    n = len(y)
    c = y - y.mean()
    out = np.zeros(max_lag + 1)
    for k in range(min(max_lag, n - 1) + 1):
        out[k] = np.dot(c[: n - k], c[k:])
    return out / max(out[0], 1e-300)


@njit(cache=_CACHE)
def _limit(acf: np.ndarray, k: int, n: int) -> float:
    """Bartlett bound at lag k: z * sqrt((1 + 2 sum_{0<j<k} acf_j^2) / n)."""
    return SEASON_TEST_Z * np.sqrt((1.0 + 2.0 * np.sum(acf[1:k] ** 2)) / n)


@njit(cache=_CACHE)
def infer_season(y: np.ndarray, max_season: int) -> int:
    """The lag 2..min(max_season, (n - 2) // 3) with the highest significant local maximum
    (at least INFER_MIN_ACF) of the autocorrelation of the differences; 1 if none."""
    top = min(max_season, (len(y) - 2) // 3)
    if top < 2:
        return 1
    d = np.diff(y)
    acf = _acf(d, top + 1)
    best, best_acf = 1, -np.inf
    for k in range(2, top + 1):
        peak = acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]
        significant = acf[k] >= INFER_MIN_ACF and acf[k] > _limit(acf, k, len(d))
        if peak and significant and acf[k] > best_acf:
            best, best_acf = k, acf[k]
    return best


@njit(cache=_CACHE)
def passes_season_test(y: np.ndarray, season: int) -> bool:
    if season <= 1 or len(y) < 3 * season:
        return False
    acf = _acf(y, season)
    return abs(acf[season]) > _limit(acf, season, len(y))


@njit(cache=_CACHE)
def seasonal_indices(y: np.ndarray, season: int, multiplicative: bool) -> np.ndarray:
    """Indices by phase (phase p: p steps before the last value, modulo season)."""
    n, half = len(y), season // 2
    weights = np.ones(season + 1 - season % 2) / season
    if season % 2 == 0:
        weights[0] = weights[-1] = 0.5 / season
    sums, counts = np.zeros(season), np.zeros(season)
    for t in range(half, n - half):
        trend = 0.0
        for j in range(len(weights)):  # a plain loop: a library call per value costs more
            trend += weights[j] * y[t - half + j]
        phase = (n - 1 - t) % season
        sums[phase] += y[t] / trend if multiplicative else y[t] - trend
        counts[phase] += 1.0
    neutral = 1.0 if multiplicative else 0.0
    indices = np.where(counts > 0, sums / np.maximum(counts, 1.0), neutral)
    centre = indices.mean()
    return indices / centre if multiplicative else indices - centre


@njit(cache=_CACHE)
def theta(y: np.ndarray, horizon: int) -> np.ndarray:
    """Exponential smoothing with drift, as app/forecast_theta.theta says."""
    n = len(y)
    # Every weight advances at each step: independent recursions, which the CPU runs side by side
    # (four times faster than one weight after the other, and the same sums).
    weights, keeps = _ALPHAS.copy(), 1.0 - _ALPHAS
    levels, sse = np.full(len(weights), y[0]), np.zeros(len(weights))
    for t in range(n - 1):
        now, after = y[t], y[t + 1]
        for k in range(len(weights)):
            levels[k] = weights[k] * now + keeps[k] * levels[k]
            error = after - levels[k]
            sse[k] += error * error
    best_sse, alpha = np.inf, 1.0
    for k in range(len(weights)):  # the first of equal errors wins, as in the numpy reference
        if sse[k] < best_sse:
            best_sse, alpha = sse[k], weights[k]
    residual, level = np.empty(n - 1), y[0]  # the chosen weight's one-step errors, once more
    for t in range(n):
        level = alpha * y[t] + (1.0 - alpha) * level
        if t < n - 1:
            residual[t] = y[t + 1] - level
    decay, power = 1.0 - alpha, 1.0
    carried = np.empty(n)  # decay x (1 - decay^t) / alpha, by repeated products (no pow calls)
    for t in range(n):
        carried[t] = decay * (1.0 - power) / alpha
        power *= decay
    per_drift = carried[:-1] + 1.0
    start = trend_start(y)
    drift, drift_sse = _drift(residual, per_drift, best_sse, _slope(y[start:]))
    steps = carried[-1] + np.arange(1, horizon + 1).astype(np.float64)
    if y.min() <= 0:
        return level + drift * steps
    # Log-space Theta at the same weight (module docstring of app/forecast_theta.py).
    logs = np.log(y)
    log_levels, log_level = np.empty(n), logs[0]
    for t in range(n):
        log_level = alpha * logs[t] + (1.0 - alpha) * log_level
        log_levels[t] = log_level
    log_residual = logs[1:] - log_levels[:-1]
    log_sse = np.sum(log_residual * log_residual)
    log_drift, _ = _drift(log_residual, per_drift, log_sse, _slope(logs[start:]))
    one_step = np.exp(log_levels[:-1] + log_drift * per_drift)
    if np.sum((y[1:] - one_step) ** 2) < GROWTH_GAIN * drift_sse:
        return np.exp(log_levels[-1] + log_drift * steps)
    return level + drift * steps


@njit(cache=_CACHE)
def _drift(
    residual: np.ndarray, per_drift: np.ndarray, best_sse: float, slope: float
) -> tuple[float, float]:
    """(drift, in-sample squared error with it), as app/forecast_theta._drift."""
    rc = np.sum(residual * per_drift)
    cc = max(np.sum(per_drift * per_drift), 1e-300)
    half = 0.5 * slope
    sse_half = best_sse - 2 * half * rc + half * half * cc
    if best_sse - rc * rc / cc < 0.5 * sse_half:
        return rc / cc, best_sse - rc * rc / cc
    return half, sse_half


@njit(cache=_CACHE)
def _slope(y: np.ndarray) -> float:
    times = np.arange(len(y)).astype(np.float64)
    dt = times - times.mean()
    return np.sum(dt * (y - y.mean())) / max(np.sum(dt * dt), 1e-300)


@njit(cache=_CACHE)
def trend_start(y: np.ndarray) -> int:
    """Index of the first value after a level shift, else 0 (app/forecast_theta.trend_starts)."""
    if len(y) < 2:
        return 0
    steps = np.abs(np.diff(y))
    at = int(np.argmax(steps))
    second = -1.0
    for k in range(len(steps)):
        if k != at and steps[k] > second:
            second = steps[k]
    if steps[at] < BREAK_DOMINANCE * second:  # most series: no need for the median (a sort)
        return 0
    if steps[at] > BREAK_SIGMAS * 1.4826 * np.median(steps):
        return at + 1
    return 0


@njit(cache=_CACHE)
def seasonal_theta(y: np.ndarray, season: int, horizon: int) -> tuple[np.ndarray, int]:
    """Theta on the seasonally adjusted series, reseasonalised; and the season applied."""
    if not passes_season_test(y, season):
        return theta(y, horizon), 1
    multiplicative = y.min() > 0
    indices = seasonal_indices(y, season, multiplicative)
    n = len(y)
    past = indices[(n - 1 - np.arange(n)) % season]
    ahead = indices[(-np.arange(1, horizon + 1)) % season]
    if multiplicative:
        return theta(y / past, horizon) * ahead, season
    return theta(y - past, horizon) + ahead, season


@njit(cache=_CACHE)
def base_forecast(y: np.ndarray, season: int, horizon: int) -> tuple[np.ndarray, int]:
    """Seasonal Theta, or seasonal naive for a long seasonal series whose last season it
    forecast better than Theta did from the values before it."""
    forecast, applied = seasonal_theta(y, season, horizon)
    n, m = len(y), applied
    needed = SELECT_MIN_SEASONS_HIGH if m >= HIGH_SEASON else SELECT_MIN_SEASONS
    if m > 1 and n >= needed * m:
        held, _ = seasonal_theta(y[: n - m], m, m)
        last = y[n - m :]
        theta_error = np.mean(np.abs(last - held))
        naive_error = np.mean(np.abs(last - y[n - 2 * m : n - m]))
        if naive_error < theta_error:
            forecast = y[n - m + np.arange(horizon) % m].copy()
    return forecast, applied


@njit(cache=_CACHE)
def base_forecasts(
    flat: np.ndarray, ends: np.ndarray, seasons: np.ndarray, max_season: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """([n, horizon] base forecasts, [n] seasons applied) of the series flat[ends[i-1]:ends[i]];
    a season of 0 is inferred from the series."""
    out = np.empty((len(ends), horizon))
    applied = np.empty(len(ends), dtype=np.int64)
    start = 0
    for i in range(len(ends)):
        y = flat[start : ends[i]]
        season = seasons[i] if seasons[i] > 0 else infer_season(y, max_season)
        forecast, season_applied = base_forecast(y, season, horizon)
        out[i], applied[i] = forecast, season_applied
        start = ends[i]
    return out, applied


def compile_for_serving() -> None:
    """Compile (or load from the cache) the kernel for the argument types serving passes
    (app/preprocessing.py: float64 values, int64 ends and seasons): the image build runs this."""
    base_forecasts(np.zeros(16), np.array([16]), np.zeros(1, dtype=np.int64), 24, 8)
