"""The compiled base (app/forecast_kernel.py) against the numpy reference (app/forecast_base.py).

Two independent implementations of the same rules, one over padded matrices and one over each
series' own values: they must agree on the season and, to float rounding, on the forecast.
"""

from __future__ import annotations

from pathlib import Path

import numba
import numpy as np
import pytest

from app import forecast_base, forecast_kernel, forecast_theta, preprocessing
from app.artifacts import ForecastPreprocessing

# Slow: the first call compiles the numba kernel (seconds; a minute on a busy machine).
pytestmark = pytest.mark.slow

H = 48
PROBE_SPEC = ForecastPreprocessing(
    window=24,
    patch=24,
    horizon=H,
    history=1024,
    min_length=6,
    max_season=168,
    correction_bound=10.0,
    min_relative_scale=1e-12,
)


def reference(series: np.ndarray, season: int) -> tuple[np.ndarray, int]:
    width = max(32, 1 << int(np.ceil(np.log2(len(series)))))
    values, lengths = forecast_base.pad_left([series], width)
    periods = np.array([season])
    if season == 0:
        periods = forecast_base.infer_seasons(values, lengths, 168)
    base, applied = forecast_base.base_forecast(values, lengths, periods, H)
    return base[0], int(applied[0])


def kernel(series: list[np.ndarray], seasons: list[int]) -> tuple[np.ndarray, np.ndarray]:
    flat = np.concatenate(series)
    ends = np.cumsum([len(s) for s in series])
    return forecast_kernel.base_forecasts(flat, ends, np.array(seasons), 168, H)


def synthetic(seed: int, length: int, period: int, positive: bool) -> np.ndarray:
    """A random walk of random strength plus a cycle and a trend: every branch of the base."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    walk = rng.normal(size=length).cumsum() * rng.random()
    series = 50 + walk + 5 * np.sin(2 * np.pi * t / period) + rng.normal() * 0.05 * t
    return np.abs(series) + 1 if positive else series - 60


@pytest.mark.parametrize("season", [0, 1, 4, 12, 24])
@pytest.mark.parametrize("length", [6, 30, 97, 400, 900])
@pytest.mark.parametrize("positive", [True, False])
def test_the_kernel_matches_the_numpy_reference(season: int, length: int, positive: bool):
    series = synthetic(length + season, length, max(season, 7), positive)
    expected, expected_season = reference(series, season)
    base, applied = kernel([series], [season])
    assert applied[0] == expected_season
    np.testing.assert_allclose(base[0], expected, rtol=1e-7, atol=1e-7 * np.abs(series).max())


def test_long_hourly_series_switch_to_seasonal_naive_as_in_the_reference() -> None:
    # 16 days of a clean daily cycle plus noise: the branch that compares the last season.
    rng = np.random.default_rng(0)
    t = np.arange(16 * 24 + 24)
    series = 100 + 20 * np.sin(2 * np.pi * t / 24) + rng.normal(size=len(t))
    expected, _ = reference(series, 24)
    base, applied = kernel([series], [24])
    assert applied[0] == 24
    np.testing.assert_allclose(base[0], expected, rtol=1e-9)


def test_a_season_longer_than_a_third_of_the_series_is_not_applied() -> None:
    # (The numpy reference indexes past its autocorrelations here; the kernel says "no season".)
    _, applied = kernel([np.arange(40.0)], [168])
    assert applied[0] == 1


def test_a_series_forecast_does_not_depend_on_its_neighbours() -> None:
    rows = [synthetic(seed, 50 + 37 * seed, 12, seed % 2 == 0) for seed in range(6)]
    alone = [kernel([row], [0])[0][0] for row in rows]
    together, _ = kernel(rows, [0] * len(rows))
    for i, row_alone in enumerate(alone):
        assert np.array_equal(together[i], row_alone)


@pytest.mark.parametrize(
    "series",
    [
        np.repeat([10.0, 20.0], 50),  # a level shift: the drift fitted after it
        np.repeat([10.0, 20.0], 50) + np.random.default_rng(1).normal(scale=0.5, size=100),
        np.concatenate([np.linspace(1.0, 5.0, 60), np.full(30, 40.0)]),  # a jump after a trend
        1.02 ** np.arange(100.0),  # exponential growth: log-space Theta
        50 * 0.97 ** np.arange(80.0),  # exponential decay, positive
    ],
)
def test_level_shifts_and_growth_match_the_reference(series: np.ndarray) -> None:
    expected, expected_season = reference(series, 0)
    base, applied = kernel([series], [0])
    assert applied[0] == expected_season
    np.testing.assert_allclose(base[0], expected, rtol=1e-7, atol=1e-7 * np.abs(series).max())
    # The level shift is found at the same value by both.
    padding = 128 - len(series)
    starts = forecast_theta.trend_starts(*forecast_base.pad_left([series], 128))
    assert forecast_kernel.trend_start(series) == starts[0] - padding


def test_the_image_build_compiles_the_types_serving_calls_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The serving image runs compile_for_serving at build so that containers load the kernel from
    # numba's cache; a cache entry for other argument types would be a miss (a 25 s compile at
    # every container start), so both calls must reach the kernel with the same numba types.
    calls: list[tuple[object, ...]] = []
    compiled = forecast_kernel.base_forecasts

    def recording(*args: object) -> tuple[np.ndarray, np.ndarray]:
        calls.append(tuple(numba.typeof(a) for a in args))
        return compiled(*args)

    monkeypatch.setattr(forecast_kernel, "base_forecasts", recording)
    forecast_kernel.compile_for_serving()
    series = [[float(v) for v in range(40)], [1.0, 2.0] * 20]
    preprocessing.forecast_inputs(series, np.array([0, 2]), PROBE_SPEC)
    assert len(calls) == 2 and calls[0] == calls[1]


def test_no_cache_where_numba_cannot_write(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # With cache=True and nowhere to write, numba refuses to compile at all: the service must then
    # compile uncached (a read-only container without its tmpfs) rather than fail to start.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(blocker / "cache"))
    assert not forecast_kernel._numba_can_cache()
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    assert forecast_kernel._numba_can_cache()
