"""The forecast report's baselines and scores: pure functions on small hand-made rows."""

from __future__ import annotations

import numpy as np
import pytest

from training.data.windows import Samples
from training.forecast_eval import naive, naive2, scores, seasonal_naive


def samples(histories: list[np.ndarray], seasons: list[int], horizon: int = 4) -> Samples:
    targets = np.array([h[-1] + np.arange(1, horizon + 1) for h in histories])
    return Samples(
        histories,
        targets,
        np.ones_like(targets, dtype=bool),
        np.array(seasons),
        [f"d{i % 2}/f" for i in range(len(histories))],
    )


def test_naive_and_seasonal_naive_repeat_the_last_value_and_season() -> None:
    rows = samples([np.arange(1.0, 9.0), np.arange(1.0, 9.0)], [1, 3])
    np.testing.assert_array_equal(naive(rows), [[8.0] * 4, [8.0] * 4])
    np.testing.assert_array_equal(seasonal_naive(rows)[1], [6.0, 7.0, 8.0, 6.0])


def test_naive2_is_naive_without_a_significant_season() -> None:
    noise = np.random.default_rng(0).normal(size=60) + 50
    rows = samples([noise], [12])
    np.testing.assert_array_equal(naive2(rows), naive(rows))


def test_naive2_reseasonalises_a_clean_cycle() -> None:
    t = np.arange(48)
    cycle = 100 + 10 * np.sin(2 * np.pi * t / 12)
    forecast = naive2(samples([cycle], [12], horizon=12))[0]
    truth = 100 + 10 * np.sin(2 * np.pi * np.arange(48, 60) / 12)
    assert np.abs(forecast - truth).max() < 0.5  # an exact cycle, up to the indices' rounding


def test_scores_give_naive2_an_owa_of_one_and_skip_a_partial_baseline() -> None:
    rng = np.random.default_rng(1)
    rows = samples([rng.normal(size=30).cumsum() + 100 for _ in range(4)], [1, 1, 4, 4])
    partial = naive(rows)
    partial[0] = np.nan  # like statsforecast's Theta, left out for long histories
    metrics = scores(rows, {"naive2": naive2(rows), "partial": partial}, "test/")
    assert metrics["test/all/naive2_owa"] == pytest.approx(1.0)
    assert "test/d1/f/partial_mase" in metrics  # rows 1 and 3: complete
    assert not any(
        key.startswith(("test/d0/", "test/all/partial")) and "partial" in key for key in metrics
    )
    assert {"test/d0/all/naive2_mase", "test/d1/all/naive2_mase"} <= set(metrics)


class Upward:
    """A fake correction network: raises the rows of dataset d0 by `help0` scales and those of
    d1 by `help1` (the targets below lie above the base: positive helps, negative hurts)."""

    def __init__(self, rows: Samples, help0: float, help1: float) -> None:
        self.shift = np.array([help0 if g.startswith("d0") else help1 for g in rows.groups])

    def predict(self, arrays: dict[str, np.ndarray], **_: object) -> np.ndarray:
        return np.repeat(self.shift[:, None], arrays["context"].shape[1] // 2 - 1, axis=1)


@pytest.mark.parametrize(
    ("help0", "help1", "kept"),
    [(1.0, 1.0, (1,)), (1.0, -1.0, ()), (0.001, 0.001, ())],  # the last: a gain within noise
)
def test_a_correction_is_kept_only_where_it_helps_every_dataset(help0, help1, kept) -> None:
    from app.artifacts import ForecastPreprocessing
    from training.forecast_eval import corrected_seasons

    spec = ForecastPreprocessing(
        window=24,
        patch=24,
        horizon=4,
        history=64,
        min_length=6,
        max_season=12,
        correction_bound=10.0,
        min_relative_scale=1e-12,
    )
    rng = np.random.default_rng(2)
    # Random walks, then a jump up: every target is above the last value (and the base).
    rows = samples([rng.normal(size=40).cumsum() for _ in range(40)], [1] * 40)
    rows.targets += 5.0
    assert corrected_seasons(Upward(rows, help0, help1), rows, spec, min_rows=10) == kept
