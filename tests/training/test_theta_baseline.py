"""The statistical baseline run in parallel processes gives what one process gives."""

from __future__ import annotations

import numpy as np
import pytest

from training.theta_baseline import MAX_LENGTH, theta_forecasts


@pytest.mark.slow  # starts processes that import statsforecast (seconds each)
def test_parallel_theta_matches_one_process_row_for_row_and_skips_long_histories() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(60)
    histories = [
        10 + 0.5 * t + np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.1, 60),
        np.full(30, 4.0),
        rng.normal(0, 1, 25).cumsum(),
        rng.normal(0, 1, MAX_LENGTH + 1).cumsum(),  # too long: left out
        50 + rng.normal(0, 1, 16),
    ]
    seasons = np.array([12, 1, 4, 24, 12])  # the last is shorter than two seasons
    alone = theta_forecasts(histories, seasons, horizon=6, processes=1)
    parallel = theta_forecasts(histories, seasons, horizon=6, processes=2)
    np.testing.assert_array_equal(parallel, alone)
    assert np.isnan(alone[3]).all() and np.isfinite(np.delete(alone, 3, axis=0)).all()
    # A sanity check that these are forecasts: the trend continues upward past the last value.
    assert (alone[0] > histories[0][-12:].mean()).all()
    np.testing.assert_allclose(alone[1], 4.0)
