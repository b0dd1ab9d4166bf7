"""Property tests on the validation boundaries, with fake predictors (min length 4, horizon 6)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.main import create_app
from tests.helpers import FakeForecaster, assert_error, fake_registry, make_settings

WINDOW, MAX_HORIZON, MAX_LENGTH = FakeForecaster.spec.min_length, FakeForecaster.spec.horizon, 40
JSON = {"content-type": "application/json"}
values = st.floats(-1e12, 1e12, allow_nan=False)
fast = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def api() -> Iterator[TestClient]:
    # Module-scoped: hypothesis runs many examples against one client.
    app_settings = make_settings(models_dir=Path("/nonexistent"), max_series_length=MAX_LENGTH)
    with TestClient(create_app(app_settings, fake_registry(app_settings))) as client:
        yield client


@fast
@given(st.one_of(st.integers(0, WINDOW - 1), st.integers(MAX_LENGTH + 1, 3 * MAX_LENGTH)))
def test_series_outside_the_length_range_is_422_naming_it(api: TestClient, length: int) -> None:
    response = api.post("/forecast", json={"series": [1.5] * length})
    assert_error(response, 422, "validation_error", "body.series")


@fast
@given(
    st.integers(WINDOW, MAX_LENGTH).flatmap(lambda n: st.lists(values, min_size=n, max_size=n)),
    st.integers(1, MAX_HORIZON),
)
def test_any_valid_request_gets_exactly_horizon_finite_numbers(
    api: TestClient, series: list[float], horizon: int
) -> None:
    response = api.post("/forecast", json={"series": series, "horizon": horizon})
    assert response.status_code == 200, response.text
    forecast = response.json()["forecast"]
    assert len(forecast) == horizon and all(math.isfinite(v) for v in forecast)


@fast
@given(st.one_of(st.integers(max_value=0), st.integers(MAX_HORIZON + 1, 10**6)))
def test_horizon_outside_one_to_max_is_422_naming_it(api: TestClient, horizon: int) -> None:
    response = api.post("/forecast", json={"series": [1.0] * WINDOW, "horizon": horizon})
    assert_error(response, 422, "validation_error", "body.horizon")


@fast
@given(st.integers(0, WINDOW + 3), st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400"]))
def test_a_non_finite_value_anywhere_is_named(api: TestClient, position: int, token: str) -> None:
    series = ["1.0"] * (WINDOW + 4)
    series[position] = token
    body = '{"series": [' + ", ".join(series) + "]}"
    response = api.post("/forecast", content=body, headers=JSON)
    assert_error(response, 422, "validation_error", f"body.series[{position}]")


@fast
@given(st.text(alphabet=" \t\n\r\u00a0\u2003\u3000", max_size=20))
def test_whitespace_only_texts_are_422(api: TestClient, text: str) -> None:
    response = api.post("/sentiment", json={"texts": ["fine", text]})
    assert_error(response, 422, "validation_error", "body.texts[1]")


# Refused: C0 controls but tab and newlines, and DEL. C1 (0x80-0x9f) occurs in real reviews.
CONTROL = [chr(c) for c in [*range(0x20), 0x7F] if chr(c) not in "\t\n\r"]
printable = st.characters(blacklist_characters=CONTROL, blacklist_categories=("Cs",))
control = st.sampled_from(CONTROL)


@fast
@given(st.text(printable, min_size=1, max_size=50).filter(lambda t: t.strip() != ""))
def test_any_non_blank_text_is_classified(api: TestClient, text: str) -> None:
    response = api.post("/sentiment", json={"text": text})
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


@fast
@given(st.text(printable, max_size=20), control, st.text(printable, max_size=20))
def test_any_control_character_is_422(api: TestClient, before: str, char: str, after: str) -> None:
    response = api.post("/sentiment", json={"text": "ok " + before + char + after})
    detail = assert_error(response, 422, "validation_error", "body.text")["details"][0]
    assert "control character" in detail["message"]


@fast
@given(st.one_of(st.floats(0, 0.01, exclude_min=True, exclude_max=True), st.floats(5.0001, 1e6)))
def test_temperature_outside_its_range_is_422(api: TestClient, temperature: float) -> None:
    response = api.post("/generate", json={"temperature": temperature, "max_tokens": 1})
    assert_error(response, 422, "validation_error", "body.temperature")


@fast
@given(st.one_of(st.floats(0, 0.1, exclude_max=True), st.floats(10, 1e300, exclude_min=True)))
def test_repetition_penalty_outside_its_range_is_422(api: TestClient, penalty: float) -> None:
    # Near 0 it would multiply seen logits to infinity (found by the schema fuzzer: 5e-324).
    response = api.post("/generate", json={"repetition_penalty": penalty, "max_tokens": 1})
    assert_error(response, 422, "validation_error", "body.repetition_penalty")


@fast
@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=21), st.floats(0.5, 3.5)))
def test_logprobs_outside_0_to_20_is_422(api: TestClient, logprobs: float) -> None:
    response = api.post("/generate", json={"logprobs": logprobs, "max_tokens": 1})
    assert_error(response, 422, "validation_error", "body.logprobs")


@fast
@given(st.integers(0, 20), st.integers(1, 12))
def test_logprobs_come_one_per_character(api: TestClient, logprobs: int, max_tokens: int) -> None:
    body = {"logprobs": logprobs, "max_tokens": max_tokens}
    answer = api.post("/generate", json=body).json()
    assert [entry["token"] for entry in answer["logprobs"]] == list(answer["text"])
    assert all(len(entry["top_logprobs"]) == min(logprobs, 4) for entry in answer["logprobs"])


@fast
@given(
    st.one_of(st.just(0.0), st.floats(0.01, 5.0)),
    st.floats(0, 1, exclude_min=True),
    st.integers(0, 4),
    st.none() | st.integers(0, 2**64 - 1),
    st.tuples(st.floats(0.1, 10), st.floats(-2, 2), st.floats(-2, 2)),
)
def test_any_valid_sampling_parameters_are_accepted(
    api: TestClient,
    temperature: float,
    top_p: float,
    top_k: int,
    seed: int | None,
    penalties: tuple[float, float, float],
) -> None:
    body = {"temperature": temperature, "top_p": top_p, "top_k": top_k, "seed": seed}
    names = ("repetition_penalty", "frequency_penalty", "presence_penalty")
    body |= dict(zip(names, penalties, strict=True))
    response = api.post("/generate", content=json.dumps(body | {"max_tokens": 3}), headers=JSON)
    assert response.status_code == 200, response.text


@fast
@given(st.integers(1, 168), st.sampled_from(["hourly", "daily", "weekly", "monthly", "yearly"]))
def test_season_and_freq_together_is_422_naming_freq(
    api: TestClient, season: int, freq: str
) -> None:
    body = {"series": [1.0] * WINDOW, "season": season, "freq": freq}
    assert_error(api.post("/forecast", json=body), 422, "validation_error", "body.freq")


@fast
@given(st.one_of(st.integers(max_value=0), st.integers(169, 10**6)))
def test_season_outside_one_to_max_is_422_naming_it(api: TestClient, season: int) -> None:
    body = {"series": [1.0] * WINDOW, "season": season}
    assert_error(api.post("/forecast", json=body), 422, "validation_error", "body.season")


@fast
@given(
    st.text(max_size=10).filter(
        lambda f: f not in {"hourly", "daily", "weekly", "monthly", "quarterly", "yearly"}
    )
)
def test_unknown_freq_is_422_naming_it(api: TestClient, freq: str) -> None:
    body = {"series": [1.0] * WINDOW, "freq": freq}
    assert_error(api.post("/forecast", json=body), 422, "validation_error", "body.freq")
