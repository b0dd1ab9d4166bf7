"""Text tasks' evaluation: the generation split, calibration error and temperature scaling."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from training.generate import GenerateConfig, split_text
from training.sentiment_eval import expected_calibration_error, fit_temperature


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


@pytest.mark.parametrize("true_temperature", [0.5, 1.0, 3.0])
def test_temperature_scaling_recovers_the_temperature(true_temperature: float) -> None:
    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 3, 100_000)
    labels = (rng.uniform(0, 1, true_logits.size) < 1 / (1 + np.exp(-true_logits))).astype(float)
    # A model whose logits are the true ones times the temperature: dividing undoes it.
    fitted = fit_temperature(true_logits * true_temperature, labels)
    assert fitted == pytest.approx(true_temperature, rel=0.05)
