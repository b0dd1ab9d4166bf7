"""Theta, the base forecast's trend part (app/forecast_base.py), in vectorised numpy.

Exponential smoothing with drift (Hyndman and Billah's form of the Theta method), with two
guards for shapes the competitions rarely show but users send: after a clear level shift the
drift's slope is fitted only to the values after it (else a step keeps climbing at the slope of
the jump), and a strictly positive series that Theta fitted on log values forecasts at least
twice as well one step ahead (in-sample, in its own units) continues as that exponential curve
(else growth is extrapolated as a line). Rows are left-padded as app/forecast_base.pad_left
says; app/forecast_kernel.py compiles the same rules.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

SES_ALPHAS = np.round(np.arange(0.05, 1.0001, 0.05), 2)  # smoothing grid, best by one-step SSE
# A level shift: one step larger than BREAK_SIGMAS robust deviations of the one-step changes
# (1.4826 x their median) and at least BREAK_DOMINANCE times any other step. A random walk's
# largest of 1,000 steps is about 3.3 deviations; a spike (up, then down) has two similar steps.
BREAK_SIGMAS, BREAK_DOMINANCE = 6.0, 2.0
# Log-space Theta replaces Theta when its in-sample one-step squared error is at most this
# fraction of Theta's: the margin of the fitted-drift rule below, for the same reason (only a
# clearly better fit decides; competition series, noisy, keep the linear drift).
GROWTH_GAIN = 0.5


def observed_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    """[n, width] True where a value is real (the last `lengths[i]` columns)."""
    return np.arange(width)[None, :] >= (width - lengths)[:, None]


def theta(values: np.ndarray, lengths: np.ndarray, horizon: int) -> np.ndarray:
    """[n, horizon] Theta forecasts, as exponential smoothing with drift (Hyndman and Billah).

    The smoothing weight minimises the one-step squared error without drift (as the forecast
    package's thetaf does). The drift is half the slope of the least-squares line (fitted after
    a level shift, if there is one), unless a drift fitted by least squares at that weight at
    least halves the in-sample squared error: then that one, so that a clean straight line
    continues at its full slope. A strictly positive series may continue as log-space Theta
    (module docstring).
    """
    width = values.shape[1]
    mask = observed_mask(lengths, width)
    best_sse = np.full(len(values), np.inf)
    alpha, level = np.ones(len(values)), values[:, -1].copy()
    residual = np.zeros((len(values), width - 1))
    for a in SES_ALPHAS:
        levels = lfilter([a], [1.0, a - 1.0], values, axis=1, zi=(1.0 - a) * values[:, :1])[0]
        errors = np.where(mask[:, :-1], values[:, 1:] - levels[:, :-1], 0.0)
        sse = (errors * errors).sum(axis=1)
        better = sse < best_sse
        best_sse = np.where(better, sse, best_sse)
        alpha, level = np.where(better, a, alpha), np.where(better, levels[:, -1], level)
        residual = np.where(better[:, None], errors, residual)
    # A drift d adds d x carried_k to the level k steps after the first value, and the one-step
    # forecast is level + d: the in-sample errors are residual - d x (carried + 1).
    decay = (1.0 - alpha)[:, None]
    since_start = np.maximum(np.arange(width)[None, :] - (width - lengths)[:, None], 0)
    carried = decay * (1.0 - decay**since_start) / alpha[:, None]
    per_drift = np.where(mask[:, :-1], carried[:, :-1] + 1.0, 0.0)
    trend = mask & (np.arange(width)[None, :] >= trend_starts(values, lengths)[:, None])
    drift, sse = _drift(residual, per_drift, best_sse, _least_squares_slope(values, trend))
    steps = carried[:, -1:] + np.arange(1, horizon + 1, dtype=np.float64)[None, :]
    forecast = level[:, None] + drift[:, None] * steps
    rows = np.flatnonzero(np.where(mask, values, 1.0).min(axis=1) > 0)
    for a in np.unique(alpha[rows]):  # log-space Theta at each positive row's own weight
        at = rows[alpha[rows] == a]
        growth, growth_sse = _log_theta(
            values[at], mask[at], a, per_drift[at], trend[at], steps[at]
        )
        forecast[at] = np.where((growth_sse < GROWTH_GAIN * sse[at])[:, None], growth, forecast[at])
    return forecast


def _drift(
    residual: np.ndarray, per_drift: np.ndarray, best_sse: np.ndarray, slope: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(drift, in-sample squared error with it): half the slope, or the least-squares drift
    when that at least halves the error."""
    rc = (residual * per_drift).sum(axis=1)
    cc = np.maximum((per_drift * per_drift).sum(axis=1), 1e-300)
    half = 0.5 * slope
    sse_half = best_sse - 2 * half * rc + half**2 * cc
    fitted = best_sse - rc**2 / cc < 0.5 * sse_half
    return np.where(fitted, rc / cc, half), np.where(fitted, best_sse - rc**2 / cc, sse_half)


def _log_theta(
    values: np.ndarray,
    mask: np.ndarray,
    alpha: float,
    per_drift: np.ndarray,
    trend: np.ndarray,
    steps: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(forecasts of Theta on the log values at weight `alpha`, its in-sample one-step squared
    error in the series' own units)."""
    logs = np.log(values)
    levels = lfilter([alpha], [1.0, alpha - 1.0], logs, axis=1, zi=(1.0 - alpha) * logs[:, :1])[0]
    residual = np.where(mask[:, :-1], logs[:, 1:] - levels[:, :-1], 0.0)
    best_sse = (residual * residual).sum(axis=1)
    drift, _ = _drift(residual, per_drift, best_sse, _least_squares_slope(logs, trend))
    one_step = np.exp(levels[:, :-1] + drift[:, None] * per_drift)
    errors = np.where(mask[:, :-1], values[:, 1:] - one_step, 0.0)
    return np.exp(levels[:, -1:] + drift[:, None] * steps), (errors * errors).sum(axis=1)


def trend_starts(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """[n] column of the first value after a level shift (BREAK_SIGMAS), else of the first real
    value: where the drift's least-squares line starts."""
    width = values.shape[1]
    real = observed_mask(lengths, width)[:, :-1]  # step k: from column k to k + 1
    steps = np.where(real, np.abs(np.diff(values, axis=1)), np.nan)
    noise = 1.4826 * np.nanmedian(np.where(np.any(real, axis=1)[:, None], steps, 0.0), axis=1)
    ranked = np.where(real, steps, -1.0)
    at = ranked.argmax(axis=1)
    jump = np.take_along_axis(ranked, at[:, None], axis=1)[:, 0]
    np.put_along_axis(ranked, at[:, None], -1.0, axis=1)
    shift = (jump > BREAK_SIGMAS * noise) & (jump >= BREAK_DOMINANCE * ranked.max(axis=1))
    return np.where(shift, at + 1, width - lengths)


def _least_squares_slope(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[n] slope of the least-squares line through each row's values where `mask` holds."""
    t = np.arange(values.shape[1], dtype=np.float64)[None, :]
    count = np.maximum(mask.sum(axis=1, keepdims=True), 1)
    t_mean = np.where(mask, t, 0.0).sum(axis=1, keepdims=True) / count
    y_mean = np.where(mask, values, 0.0).sum(axis=1, keepdims=True) / count
    dt = np.where(mask, t - t_mean, 0.0)
    return (dt * (values - y_mean)).sum(axis=1) / np.maximum((dt**2).sum(axis=1), 1e-300)
