"""Held-out metrics per row, following the M4 competition's definitions.

Rows differ in horizon (a dataset's official one), so each carries a mask of its valid steps;
a row's metric averages its valid steps only, and reports average rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def row_smape(actual: np.ndarray, predicted: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Symmetric MAPE in percent per row: 200 * |y - f| / (|y| + |f|) over its valid steps
    (0 / 0 counts as a perfect step)."""
    actual, predicted = np.where(valid, actual, 0.0), np.where(valid, predicted, 0.0)
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        np.abs(actual - predicted), denominator, out=np.zeros(actual.shape), where=denominator > 0
    )
    return 200.0 * ratio.sum(axis=1) / valid.sum(axis=1)


def row_mase(
    actual: np.ndarray, predicted: np.ndarray, valid: np.ndarray, scales: np.ndarray
) -> np.ndarray:
    """Mean absolute error over each row's valid steps, divided by the row's `mase_scales`."""
    errors = np.abs(np.where(valid, actual, 0.0) - np.where(valid, predicted, 0.0))
    return errors.sum(axis=1) / valid.sum(axis=1) / scales


def mase_scales(histories: Sequence[np.ndarray], seasons: Sequence[int] | np.ndarray) -> np.ndarray:
    """MASE's denominator per row: the in-sample seasonal-naive MAE of its history (naive when
    the history is not longer than a season); 1 where that is 0 (a flat history)."""
    scales = np.ones(len(histories))
    for i, (history, season) in enumerate(zip(histories, seasons, strict=True)):
        lag = int(season) if len(history) > season else 1
        if len(history) > lag:
            scales[i] = np.abs(history[lag:] - history[:-lag]).mean()
    return np.where(scales > 0, scales, 1.0)
