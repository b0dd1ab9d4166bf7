"""Prediction intervals: split-conformal calibration (training/forecast_intervals.py) and what
serving reads from it (app/forecast_intervals.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.artifacts import ForecastIntervals, ForecastPreprocessing, read_metadata, resolve_version
from app.forecast_intervals import IntervalTables, level_probabilities
from app.main import create_app
from tests.helpers import assert_error, loaded_registry, make_settings
from training.data.windows import Samples
from training.forecast_intervals import LEVELS, calibrate, interval_forecasts, interval_scores

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
