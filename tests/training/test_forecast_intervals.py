"""Prediction intervals: split-conformal calibration (training/forecast_intervals.py) and what
serving reads from it (app/forecast_intervals.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import cast

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.artifacts import ForecastIntervals, ForecastPreprocessing, read_metadata, resolve_version
from app.forecast_base import SeriesList
from app.forecast_intervals import (
    NAIVE_WEIGHT,
    IntervalTables,
    interval_scales,
    level_probabilities,
)
from app.main import create_app
from app.registry import Registry
from app.tasks.forecast import ForecastPredictor
from tests.helpers import assert_error, loaded_registry, make_settings
from training.data.windows import Samples
from training.forecast_intervals import LEVELS, calibrate, interval_forecasts, interval_scores
from training.forecast_report import model_forecaster

SPEC = ForecastPreprocessing(
    window=12,
    patch=12,
    horizon=6,
    history=64,
    min_length=6,
    max_season=24,
    correction_bound=1.0,
    min_relative_scale=1e-12,
)


def synthetic(rows: int, seed: int) -> tuple[Samples, np.ndarray]:
    """Monthly-looking series, each with its own noise level (a known Gaussian), and the true
    mean as the forecast: every error is pure noise, so a 95% interval should hold 95%."""
    rng = np.random.default_rng(seed)
    t = np.arange(60 + SPEC.horizon)
    sigma = np.exp(rng.normal(0.0, 1.0, size=rows))[:, None]
    mean = 50 + 10 * np.sin(2 * np.pi * t / 12)[None, :] * sigma
    values = mean + sigma * rng.normal(size=(rows, len(t)))
    samples = Samples(
        histories=list(values[:, :60]),
        targets=values[:, 60:],
        valid=np.ones((rows, SPEC.horizon), dtype=bool),
        seasons=np.full(rows, 12),
        groups=["synthetic/monthly"] * rows,
    )
    return samples, mean[:, 60:]


CALIBRATION = calibrate(*synthetic(400, seed=4), SPEC)  # for the property tests


@pytest.fixture(scope="module")
def calibration() -> ForecastIntervals:
    validation, truth = synthetic(1500, seed=1)
    return calibrate(validation, truth, SPEC)


def test_intervals_cover_what_they_promise_on_a_process_with_known_noise(
    calibration: ForecastIntervals,
) -> None:
    test, truth = synthetic(1500, seed=2)
    bounds = interval_forecasts(calibration, test, truth, SPEC)
    scores = interval_scores(test, {"model": bounds}, "")
    assert abs(scores["synthetic/monthly/model_cov95"] - 95) < 1.5, scores
    assert abs(scores["synthetic/monthly/model_cov80"] - 80) < 2.5, scores
    assert scores["all/model_acd95"] == pytest.approx(abs(scores["all/model_cov95"] - 95))


def test_intervals_around_a_biased_forecast_miss_more(calibration: ForecastIntervals) -> None:
    """The scores can fail: a forecast shifted by two noise levels is not covered as well."""
    test, truth = synthetic(500, seed=3)
    shifted = truth + 2 * np.array([np.abs(np.diff(h)).mean() for h in test.histories])[:, None]
    bounds = interval_forecasts(calibration, test, shifted, SPEC)
    assert interval_scores(test, {"model": bounds}, "")["all/model_cov95"] < 85


def test_the_calibration_keeps_a_group_per_season_and_a_pooled_one(
    calibration: ForecastIntervals,
) -> None:
    assert set(calibration.groups) == {0, 12}
    group = calibration.groups[12]
    assert (group.rows, group.horizon) == (1500, SPEC.horizon)
    assert all(len(row) == len(calibration.probabilities) for row in group.errors)


class Recorder:
    """A forecaster that says `offset` for every step and remembers the lengths it was given."""

    def __init__(self, offset: float) -> None:
        self.offset, self.lengths = offset, []

    def __call__(self, heads: SeriesList, keys: np.ndarray) -> np.ndarray:
        self.lengths += [len(h) for h in heads]
        return np.full((len(heads), SPEC.horizon), self.offset)


@pytest.mark.parametrize(
    ("length", "backtest", "heads"),
    [
        (60, 6, [54, 48, 42]),  # three horizons: they take 18 of 60 values, at most a third
        (30, 6, [24]),  # a third of 30 holds one horizon of 6
        (12, 6, [8]),  # shorter: a backtest of a third of the series (4 values)
    ],
)
def test_the_scale_backtests_the_given_forecaster_on_the_series_own_past(
    length: int, backtest: int, heads: list[int]
) -> None:
    values = np.random.default_rng(length).normal(5.0, 2.0, size=length)
    forecaster = Recorder(offset=0.0)
    scale = interval_scales([values], np.array([1]), np.array([backtest]), SPEC, forecaster)
    assert forecaster.lengths == heads  # one call, every block
    blocked = values[heads[-1] : heads[-1] + len(heads) * (length - heads[0])]
    naive = np.abs(np.diff(values)).mean()
    missed = np.abs(blocked).mean()  # the forecaster said 0 for every value it backtested
    assert scale[0] == pytest.approx(naive**NAIVE_WEIGHT * missed ** (1 - NAIVE_WEIGHT))


def test_a_forecaster_that_missed_the_series_past_gets_wider_intervals() -> None:
    values = [10.0 + np.sin(t / 2) for t in range(60)]
    keys, backtest = np.array([1]), np.array([6])
    close = interval_scales([values], keys, backtest, SPEC, Recorder(offset=10.0))
    far = interval_scales([values], keys, backtest, SPEC, Recorder(offset=30.0))
    assert far[0] > 5 * close[0]


@pytest.mark.slow
def test_training_and_serving_backtest_the_same_model(
    tiny_models: Path, tiny_registry: Registry
) -> None:
    """The calibration's scales (Keras, training) are the ones serving computes (ONNX)."""
    import keras

    served = cast(ForecastPredictor, tiny_registry.get("forecast"))
    spec = served.spec.model_copy(update={"corrected_seasons": None})  # the network: every row
    serving = ForecastPredictor(served.runtime, spec, served.info)
    path = resolve_version(tiny_models / "forecast") / "model.keras"
    training = model_forecaster(keras.saving.load_model(path, compile=False), spec)
    rng = np.random.default_rng(7)
    series = [list(50 + np.cumsum(rng.normal(size=n))) for n in (20, 90, 300)]
    keys, backtest = np.array([1, 12, 24]), np.array([6, 12, 24])
    trained = interval_scales(series, keys, backtest, spec, training)
    np.testing.assert_allclose(
        interval_scales(series, keys, backtest, spec, serving.point_forecasts), trained, rtol=1e-3
    )
    assert not np.allclose(interval_scales(series, keys, backtest, spec), trained, rtol=1e-6)


@given(st.lists(st.floats(0.005, 0.995), min_size=2, max_size=12), st.integers(1, 40))
def test_quantiles_are_monotone_in_the_probability(wanted: list[float], horizon: int) -> None:
    tables = IntervalTables(CALIBRATION, 40)
    forecasts = np.linspace(-5.0, 5.0, 3 * horizon).reshape(3, horizon)
    ordered = sorted(wanted)
    q = tables.quantiles(forecasts, np.array([0.5, 1.0, 30.0]), np.array([12, 1, 7]), ordered)
    assert q.shape == (3, horizon, len(wanted))
    assert (np.diff(q, axis=2) >= 0).all()


def test_intervals_widen_with_the_horizon_also_past_the_calibrated_steps() -> None:
    tables = IntervalTables(CALIBRATION, 40)  # calibrated on 6 steps, extrapolated to 40
    q = tables.quantiles(
        np.zeros((2, 40)), np.ones(2), np.array([12, 3]), level_probabilities(LEVELS)
    )
    width = q[:, :, 1::2] - q[:, :, 0::2]  # [rows, steps, levels]
    assert (np.diff(width, axis=1) >= -1e-12).all()  # to float rounding: steps the fit pooled
    assert (width[:, -1] > width[:, 5]).all()  # sqrt growth beyond the calibrated horizon
    assert (width[:, :, 1] > width[:, :, 0]).all()  # 95% wider than 80%


@pytest.mark.slow
def test_a_trained_artifact_serves_intervals_and_quantiles(tiny_models: Path) -> None:
    """The tiny forecaster's metadata holds its calibration; /forecast uses it."""
    metadata = read_metadata(resolve_version(tiny_models / "forecast"))
    assert metadata.intervals is not None and 0 in metadata.intervals.groups
    assert any(k.endswith("model_cov95") for k in metadata.metrics)
    series = [float(10 + 5 * np.sin(2 * np.pi * t / 24) + (t % 5) / 5) for t in range(120)]
    body = {"series": series, "horizon": 4, "freq": "hourly", "level": [80, 95]}
    settings = make_settings(models_dir=tiny_models)
    with TestClient(create_app(settings, loaded_registry(tiny_models))) as client:
        answer = client.post("/forecast", json={**body, "quantiles": [0.1, 0.5, 0.9]}).json()
        plain = client.post("/forecast", json={**body, "level": None}).json()
    assert answer["forecast"] == plain["forecast"] and "intervals" not in plain
    (i80, i95), quantiles = answer["intervals"], answer["quantiles"]
    assert (i80["level"], i95["level"]) == (80, 95)
    assert all(len(i["lower"]) == len(i["upper"]) == 4 for i in (i80, i95))
    nested = zip(i95["lower"], i80["lower"], i80["upper"], i95["upper"], strict=True)
    assert all(a <= b <= c <= d for a, b, c, d in nested)
    assert [q["quantile"] for q in quantiles] == [0.1, 0.5, 0.9]
    assert all(a <= b <= c for a, b, c in zip(*(q["values"] for q in quantiles), strict=True))


@pytest.mark.slow
def test_an_artifact_from_before_intervals_loads_and_refuses_them(
    tiny_models: Path, tmp_path: Path
) -> None:
    """metadata.json without `intervals` (as every older artifact): point forecasts as before,
    a 422 naming the field for intervals."""
    old = tmp_path / "forecast" / "1"
    shutil.copytree(resolve_version(tiny_models / "forecast"), old)
    metadata = json.loads((old / "metadata.json").read_text(encoding="utf-8"))
    del metadata["intervals"]
    (old / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    settings = make_settings(models_dir=tmp_path, tasks=("forecast",))
    with TestClient(create_app(settings, loaded_registry(tmp_path, tasks=("forecast",)))) as client:
        series = [float(t % 7) for t in range(50)]
        assert client.post("/forecast", json={"series": series, "horizon": 3}).status_code == 200
        refused = client.post("/forecast", json={"series": series, "quantiles": [0.9]})
    assert_error(refused, 422, "validation_error", "body.quantiles")
