"""Input statistics against training: binning, PSI, and a score that rises with drift."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from app.drift import (
    EDGES,
    MIN_OBSERVATIONS,
    InputProfile,
    forecast_statistics,
    generate_statistics,
    psi,
    reference_profile,
    sentiment_statistics,
)
from app.main import create_app
from tests.helpers import loaded_registry, make_settings

shares = st.lists(st.floats(0, 1), min_size=2, max_size=12).filter(lambda s: sum(s) > 0)


@given(shares)
def test_psi_of_a_distribution_with_itself_is_zero(values: list[float]) -> None:
    p = np.asarray(values) / sum(values)
    assert psi(p, p) == pytest.approx(0.0, abs=1e-12)


@given(shares, shares)
def test_psi_is_never_negative(a: list[float], b: list[float]) -> None:
    size = min(len(a), len(b))
    p, q = np.asarray(a[:size]) + 1e-9, np.asarray(b[:size]) + 1e-9
    assert psi(p / p.sum(), q / q.sum()) >= -1e-12


def in_domain_series(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    return [
        100 + 10 * np.sin(np.arange(rng.integers(300, 400)) * 2 * np.pi / 24) for _ in range(count)
    ]


@pytest.mark.parametrize(
    ("task", "statistics"),
    [
        ("forecast", forecast_statistics([np.ones(50), np.ones(500)], np.array([1, 24]), 336)),
        (
            "sentiment",
            sentiment_statistics(np.array([[0, 1, 5], [2, 3, 4]]), 0, 1, np.array([0.2, 0.9])),
        ),
        (
            "generate",
            generate_statistics(["ROMEO:", "é{x"], {c: i for i, c in enumerate("ROMEx:")}),
        ),
    ],
)
def test_a_reference_profile_has_every_statistic_summing_to_one(
    task: str, statistics: dict[str, np.ndarray]
) -> None:
    profile = reference_profile(task, statistics)
    assert set(profile) == set(EDGES[task])
    for name, shares_ in profile.items():
        assert len(shares_) == len(EDGES[task][name]) + 1
        assert sum(shares_) == pytest.approx(1.0, abs=1e-5)


def test_generate_counts_characters_the_model_has_no_id_for() -> None:
    stats = generate_statistics(["abc", "ab{}"], {"a": 0, "b": 1, "c": 2})
    np.testing.assert_allclose(stats["unknown_share"], [0.0, 0.5])


def test_the_drift_score_rises_when_the_traffic_leaves_the_training_domain() -> None:
    rng = np.random.default_rng(0)
    training = in_domain_series(rng, 500)
    reference = reference_profile(
        "forecast", forecast_statistics(training, np.full(500, 24), window=336)
    )
    profile = InputProfile("forecast", reference)
    assert profile.summary()["drift"] is None  # nothing seen yet
    recent = in_domain_series(rng, MIN_OBSERVATIONS)
    profile.observe(forecast_statistics(recent, np.full(len(recent), 24), window=336))
    same = profile.summary()["drift"]
    assert same is not None and same < 0.1
    # Short yearly series of a million: other lengths, scale and season, all padded.
    other = [1e6 + rng.normal(0, 1e4, 20) for _ in range(2000)]
    profile.observe(forecast_statistics(other, np.ones(len(other), dtype=int), window=336))
    moved = profile.summary()
    assert isinstance(moved["drift"], float) and moved["drift"] > 1.0
    assert moved["observations"] == MIN_OBSERVATIONS + 2000 and moved["window"] == 2000


def test_without_a_training_reference_only_the_means_are_reported() -> None:
    profile = InputProfile("generate", None)
    profile.observe(generate_statistics(["ROMEO:"] * 200, {c: 0 for c in "ROMEO:"}))
    summary = profile.summary()
    assert summary["drift"] is None
    assert summary["prompt_chars"] == {"mean": 6.0, "psi": None}


@pytest.mark.slow
def test_served_models_report_drift_against_their_training_profile(tiny_models: Path) -> None:
    """Tiny artifacts carry their training profile; out-of-domain traffic raises the score."""
    settings = make_settings(models_dir=tiny_models)
    with TestClient(create_app(settings, loaded_registry(tiny_models))) as client:
        rng = np.random.default_rng(1)
        # Like the tiny training data (tests/tiny_data.py): 244 hourly values around a level.
        like_training = [
            [float(v) for v in level + 5 * np.sin(2 * np.pi * np.arange(244) / 24)]
            for level in rng.choice([10.0, 500.0], size=64)
        ]
        for _ in range(2):
            answer = client.post("/forecast/batch", json={"series": like_training, "horizon": 2})
            assert answer.status_code == 200, answer.text
        inputs = client.get("/models/forecast").json()["inputs"]
        assert inputs["observations"] == 128 and inputs["drift"] is not None
        before = inputs["drift"]
        unlike = [[float(v) for v in 1e7 + rng.normal(0, 1e5, 12)] for _ in range(64)]
        for _ in range(4):
            client.post("/forecast/batch", json={"series": unlike, "horizon": 2})
        after = client.get("/models/forecast").json()["inputs"]["drift"]
        assert after > before + 1.0, (before, after)
        scraped = client.get("/metrics").text
        assert 'seqserve_input_psi{model="forecast",statistic="length",version="1"}' in scraped
