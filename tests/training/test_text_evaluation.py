"""Text tasks' evaluation: the generation split and the calibration error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.generate import GenerateConfig, split_text
from training.sentiment_eval import expected_calibration_error


@given(st.integers(100, 5000))
def test_generation_split_is_contiguous_and_disjoint(length: int) -> None:
    ids = np.arange(length)
    train, val, test = split_text(ids, GenerateConfig(validation_fraction=0.05, test_fraction=0.05))
    np.testing.assert_array_equal(np.concatenate([train, val, test]), ids)  # in order, all once
    assert train.size and val.size and test.size
    assert abs(test.size - 0.05 * length) <= 1 and abs(val.size - 0.05 * length) <= 2


def test_ece_of_calibrated_and_overconfident_scores() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 200_000)
    calibrated_labels = (rng.uniform(0, 1, scores.size) < scores).astype(int)
    assert expected_calibration_error(scores, calibrated_labels) < 0.01
    # Says 0.99 or 0.01 while right only 70% of the time: ECE = 0.99 - 0.70.
    confident = np.where(scores > 0.5, 0.99, 0.01)
    right = rng.uniform(0, 1, scores.size) < 0.7
    labels = np.where(right, confident > 0.5, confident < 0.5).astype(int)
    assert expected_calibration_error(confident, labels) == pytest.approx(0.29, abs=0.01)
