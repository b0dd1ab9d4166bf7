"""Held-out metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import mase, seasonal_naive, smape


@pytest.mark.parametrize(
    ("actual", "predicted", "expected"),
    [
        ([[100.0, 100.0]], [[100.0, 100.0]], 0.0),
        ([[100.0, 100.0]], [[50.0, 150.0]], 200 * (50 / 150 + 50 / 250) / 2),
        ([[0.0, 1.0]], [[0.0, 1.0]], 0.0),  # 0/0 counts as a perfect step
        ([[1.0], [3.0]], [[-1.0], [3.0]], 100.0),  # rows are averaged
    ],
)
def test_smape(actual: list[list[float]], predicted: list[list[float]], expected: float) -> None:
    assert smape(np.array(actual), np.array(predicted)) == pytest.approx(expected)


def test_mase_scales_by_in_sample_seasonal_naive_error() -> None:
    history = np.array([1.0, 2.0, 4.0, 5.0])  # season 2: |4-1|, |5-2| -> scale 3
    assert mase(np.array([[10.0, 10.0]]), np.array([[7.0, 13.0]]), [history], 2) == 1.0


def test_mase_of_a_flat_history_does_not_divide_by_zero() -> None:
    assert mase(np.array([[2.0]]), np.array([[1.0]]), [np.ones(5)], 1) == 1.0


def test_seasonal_naive_repeats_the_last_season() -> None:
    inputs = np.array([[9.0, 1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(seasonal_naive(inputs, 5, 3), [[1, 2, 3, 1, 2]])
