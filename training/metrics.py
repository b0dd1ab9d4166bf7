"""Held-out metrics, following the M4 competition's definitions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in percent: 200 * |y - f| / (|y| + |f|), averaged over steps, then rows."""
    actual, predicted = np.asarray(actual, float), np.asarray(predicted, float)
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        np.abs(actual - predicted), denominator, out=np.zeros_like(actual), where=denominator > 0
    )
    return float(200.0 * ratio.mean(axis=1).mean())


def mase(
    actual: np.ndarray, predicted: np.ndarray, histories: Sequence[np.ndarray], season: int
) -> float:
    """Mean absolute error scaled, per row, by the in-sample seasonal-naive error of its history."""
    errors = np.abs(np.asarray(actual, float) - np.asarray(predicted, float)).mean(axis=1)
    scales = np.array([np.abs(h[season:] - h[:-season]).mean() for h in histories])
    return float((errors / np.where(scales > 0, scales, 1.0)).mean())


def seasonal_naive(inputs: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Repeat the last observed season of each input window over the horizon."""
    last_season = np.asarray(inputs, float)[:, -season:]
    return np.stack([last_season[:, k % season] for k in range(horizon)], axis=1)
