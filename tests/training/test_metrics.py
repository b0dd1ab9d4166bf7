"""Held-out metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import mase_scales, row_mase, row_smape


@pytest.mark.parametrize(
    ("actual", "predicted", "expected"),
    [
        ([100.0, 100.0], [100.0, 100.0], 0.0),
        ([100.0, 100.0], [50.0, 150.0], 200 * (50 / 150 + 50 / 250) / 2),
        ([0.0, 1.0], [0.0, 1.0], 0.0),  # 0/0 counts as a perfect step
        ([1.0, 7.0], [-1.0, np.nan], 200.0),  # a step past the row's horizon is not read
    ],
)
def test_row_smape(actual: list[float], predicted: list[float], expected: float) -> None:
    valid = np.array([[True, not np.isnan(predicted[1])]])
    smape = row_smape(np.array([actual]), np.array([predicted]), valid)
    assert smape == pytest.approx([expected])


def test_mase_scales_by_in_sample_seasonal_naive_error() -> None:
    history = np.array([1.0, 2.0, 4.0, 5.0])  # season 2: |4-1|, |5-2| -> scale 3
    scales = mase_scales([history], [2])
    valid = np.ones((1, 2), bool)
    assert row_mase(np.array([[10.0, 10.0]]), np.array([[7.0, 13.0]]), valid, scales) == [1.0]


@pytest.mark.parametrize(
    ("history", "season", "scale"),
    [
        (np.ones(5), 1, 1.0),  # flat: no division by zero
        (np.array([1.0, 4.0, 2.0]), 12, 2.5),  # shorter than its season: naive differences
        (np.array([3.0]), 1, 1.0),  # a single value has no differences
    ],
)
def test_mase_scales_of_degenerate_histories(
    history: np.ndarray, season: int, scale: float
) -> None:
    assert mase_scales([history], [season]) == pytest.approx([scale])
