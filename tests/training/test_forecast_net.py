"""The high-frequency / general split of the forecaster: sampling, routing flag and routed graph."""

from __future__ import annotations

import numpy as np
import pytest

from app.artifacts import ForecastPreprocessing
from app.preprocessing import forecast_inputs
from training.data.competitions import Problem
from training.data.windows import training_samples

SPEC = ForecastPreprocessing(
    window=48,
    patch=24,
    horizon=8,
    history=256,
    min_length=6,
    max_season=168,
    correction_bound=10.0,
    min_relative_scale=1e-12,
    route_min_season=24,
)


def problem(length: int, season: int = 24) -> Problem:
    t = np.arange(length + 8, dtype=np.float64)
    values = 50 + 10 * np.sin(2 * np.pi * t / season) + 0.1 * t
    return Problem("synthetic", "hourly", season, 8, values[:length], values[length:])


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_short_histories_end_where_their_origin_does(fraction: float) -> None:
    p = problem(600)
    samples = training_samples([p], SPEC, per_series=20, seed=0, short_fraction=fraction)
    full = np.asarray(p.history)
    for history, target in zip(samples.histories, samples.targets, strict=True):
        # The trend makes every value unique: the target's first value finds the origin.
        origin = int(np.flatnonzero(full == target[0])[0])
        assert np.array_equal(history, full[origin - len(history) : origin])
        assert len(history) >= SPEC.min_length
    short = sum(len(h) <= SPEC.window for h in samples.histories)
    if fraction == 1.0:
        assert short == len(samples.histories)
    elif fraction == 0.0:
        assert short < len(samples.histories)


@pytest.mark.parametrize(("season", "flag"), [(24, 1.0), (168, 1.0), (12, 0.0), (1, 0.0)])
def test_the_context_flags_series_for_the_high_frequency_network(season: int, flag: float):
    t = np.arange(600)
    series = 100 + 10 * np.sin(2 * np.pi * t / max(season, 2)) + np.cos(t)
    inputs = forecast_inputs([series], np.array([season]), SPEC)
    assert inputs.arrays["context"].shape == (1, SPEC.context_size)
    assert inputs.arrays["context"][0, -1] == (flag if inputs.seasons[0] == season else 0.0)


def test_without_routing_the_context_has_no_flag() -> None:
    plain = SPEC.model_copy(update={"route_min_season": None})
    inputs = forecast_inputs([np.arange(50.0)], np.array([0]), plain)
    assert inputs.arrays["context"].shape == (1, 2 * SPEC.horizon + 2) == (1, plain.context_size)


@pytest.mark.slow  # imports TensorFlow
def test_the_routed_graph_takes_each_row_from_its_network() -> None:
    from training.forecast_net import build_branch, routed

    nets = [
        build_branch(
            SPEC, cell="lstm", layers=1, units=4, dropout=0.0, learning_rate=1e-3, name=name
        )
        for name in ("general", "high_frequency")
    ]
    rng = np.random.default_rng(0)
    for net in nets:  # the output layer starts at zero: give each network its own outputs
        net.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in net.get_weights()])
    graph = routed(nets[0], nets[1], SPEC)
    context = rng.normal(size=(6, SPEC.context_size)).astype(np.float32)
    context[:, -1] = [1, 0, 1, 0, 0, 1]
    inputs = [
        rng.normal(size=(6, SPEC.window)).astype(np.float32),
        np.ones((6, SPEC.window), dtype=np.float32),
        context,
    ]
    out = graph.predict(inputs, verbose=0)
    general, high = (net.predict(inputs, verbose=0) for net in nets)
    expected = np.where(context[:, -1:] == 1, high, general)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(general, high)


def test_origins_keep_a_full_window_where_the_history_allows() -> None:
    samples = training_samples([problem(600)], SPEC, per_series=20, seed=0, min_history=48)
    assert len(samples.histories) == 40 and all(len(h) >= 48 for h in samples.histories)
    # A history too short for a full window still gives rows, from min_length values on.
    short = training_samples([problem(40)], SPEC, per_series=5, seed=0, min_history=48)
    assert len(short.histories) == 5 and min(len(h) for h in short.histories) >= SPEC.min_length
