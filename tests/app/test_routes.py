"""Route contracts with fake predictors: request and response shapes of every model endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import assert_error


def test_forecast_returns_horizon_values_and_the_model(client: TestClient) -> None:
    response = client.post("/forecast", json={"series": [1, 2, 3, 4.5], "horizon": 3})
    assert response.status_code == 200
    assert response.json() == {
        "forecast": [5.5, 6.5, 7.5],
        "season": 1,
        "warnings": [
            "season not given: none found in the series",
            "4 values, fewer than twice the horizon: little history to go on",
        ],
        "model": {"name": "forecast", "version": "7"},
    }


@pytest.mark.parametrize(
    ("options", "season"),
    [({}, 1), ({"season": 5}, 5), ({"freq": "monthly"}, 12), ({"freq": "hourly"}, 24)],
)
def test_forecast_passes_the_requested_season_and_reports_it(
    client: TestClient, options: dict[str, Any], season: int
) -> None:
    """The fake applies the requested season (or 1 for "infer"); the route must pass it on and
    report it, for one series and for each series of a batch."""
    one = client.post("/forecast", json={"series": [1, 2, 3, 4], **options})
    assert one.status_code == 200 and one.json()["season"] == season
    batch = client.post("/forecast/batch", json={"series": [[1, 2, 3, 4]] * 2, **options})
    assert batch.status_code == 200 and batch.json()["seasons"] == [season, season]


def test_forecast_horizon_defaults_to_one(client: TestClient) -> None:
    assert client.post("/forecast", json={"series": [1, 2, 3, 4]}).json()["forecast"] == [5.0]


def test_forecast_batch_answers_each_series_in_order(client: TestClient) -> None:
    body = {"series": [[1, 2, 3, 4], [0, 0, 0, 10, 20]], "horizon": 2}
    response = client.post("/forecast/batch", json=body)
    assert response.status_code == 200
    assert response.json()["forecasts"] == [[5.0, 6.0], [21.0, 22.0]]
    assert response.json()["model"] == {"name": "forecast", "version": "7"}


def test_forecast_batch_limits_the_number_of_series(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_series_batch=2)
    response = client.post("/forecast/batch", json={"series": [[1, 2, 3, 4]] * 3})
    assert_error(response, 422, "validation_error", "body.series")


def test_sentiment_single_text(client: TestClient) -> None:
    response = client.post("/sentiment", json={"text": "a good film"})
    assert response.status_code == 200
    assert response.json() == {
        "predictions": [
            {"label": "positive", "score": 0.75, "scores": {"negative": 0.25, "positive": 0.75}}
        ],
        "model": {"name": "sentiment", "version": "2"},
    }


def test_sentiment_texts_are_answered_in_order(client: TestClient) -> None:
    response = client.post("/sentiment", json={"texts": ["bad", "good", "meh"]})
    labels = [p["label"] for p in response.json()["predictions"]]
    assert labels == ["negative", "positive", "negative"]


def test_generate_until_max_tokens(client: TestClient) -> None:
    response = client.post("/generate", json={"prompt": "x", "max_tokens": 6, "seed": 1})
    assert response.status_code == 200
    assert response.json() == {
        "text": "abc ab",
        "finish_reason": "length",
        "tokens": 6,
        "model": {"name": "generate", "version": "1"},
        "logprobs": None,  # only when asked
    }


def test_generate_stop_sequence_ends_and_is_not_returned(client: TestClient) -> None:
    body = {"max_tokens": 50, "stop": ["zz", "c "]}
    assert client.post("/generate", json=body).json() | {"model": None} == {
        "text": "ab",
        "finish_reason": "stop",
        "tokens": 4,
        "model": None,
        "logprobs": None,
    }


def test_generate_accepts_an_empty_body(client: TestClient) -> None:
    response = client.post("/generate", json={})
    assert response.status_code == 200
    assert response.json()["tokens"] == 100  # the documented default max_tokens


def test_a_missing_model_answers_503_and_the_others_serve(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(missing=("sentiment",))
    body = assert_error(client.post("/sentiment", json={"text": "hi"}), 503, "model_not_ready")
    assert "python -m training sentiment" in body["error"]
    assert client.post("/forecast", json={"series": [1, 2, 3, 4]}).status_code == 200
    assert client.post("/generate", json={}).status_code == 200


def test_a_disabled_task_has_no_route(make_client: Callable[..., TestClient]) -> None:
    client = make_client(tasks=("forecast",))
    assert_error(client.post("/generate", json={}), 404, "not_found")
    assert "/generate" not in client.get("/openapi.json").json()["paths"]
    assert client.get("/ready").status_code == 200  # only enabled models count


def test_openapi_documents_examples_and_the_one_error_shape(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components  # FastAPI's {"detail": ...} is never sent
    for path in ("/forecast", "/forecast/batch", "/sentiment", "/generate"):
        responses = schema["paths"][path]["post"]["responses"]
        for status in ("400", "413", "415", "422", "503"):
            ref = responses[status]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody")
    for name in ("ForecastRequest", "BatchForecastRequest", "SentimentRequest", "GenerateRequest"):
        properties = components[name]["properties"].values()
        assert any("examples" in p for p in properties), name
    assert client.get("/docs").status_code == 200
