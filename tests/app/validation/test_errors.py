"""Every error path answers in the one shape, names the offending field and leaks nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.artifacts import Task
from app.batching import Batching
from app.config import Settings
from app.main import create_app
from app.registry import Registry
from app.tasks.base import Predictor
from tests.helpers import FakeForecaster, assert_error, fake_registry, make_settings

JSON = {"content-type": "application/json"}
SERIES = [1.0, 2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/forecast", {"series": SERIES, "horizon": "2"}, "body.horizon"),  # no str -> int
        ("/forecast", {"series": SERIES, "horizon": 2.0}, "body.horizon"),  # no float -> int
        ("/forecast", {"series": SERIES, "horizon": True}, "body.horizon"),
        ("/forecast", {"series": "1,2,3,4"}, "body.series"),
        ("/forecast", {"series": [1, 2, "3", 4]}, "body.series[2]"),
        ("/forecast", {"series": [1, 2, None, 4]}, "body.series"),  # a gap, but 25% of values
        ("/forecast", {"series": [1, 2, 3, 1e31]}, "body.series[3]"),
        ("/forecast", {}, "body.series"),
        ("/forecast", {"series": SERIES, "horizn": 2}, "body.horizn"),  # unknown fields: errors
        ("/forecast", {"series": SERIES, "horizon": 0}, "body.horizon"),
        ("/forecast/batch", {"series": []}, "body.series"),
        ("/forecast/batch", {"series": [SERIES, [1, "x"]]}, "body.series[1][1]"),
        ("/sentiment", {"text": 5}, "body.text"),
        ("/sentiment", {"texts": "one text"}, "body.texts"),
        ("/sentiment", {"text": ""}, "body.text"),
        ("/sentiment", {"text": " \n\t "}, "body.text"),
        ("/sentiment", {"texts": ["fine", "   "]}, "body.texts[1]"),
        ("/sentiment", {"texts": []}, "body.texts"),
        ("/sentiment", {}, "body"),
        ("/sentiment", {"text": "a", "texts": ["b"]}, "body"),
        ("/generate", {"max_tokens": "5"}, "body.max_tokens"),
        ("/generate", {"max_tokens": 0}, "body.max_tokens"),
        ("/generate", {"prompt": 7}, "body.prompt"),
        ("/generate", {"temperature": -0.5}, "body.temperature"),
        ("/generate", {"temperature": 0.001}, "body.temperature"),  # overflows: use 0 or >= 0.01
        ("/generate", {"top_k": -1}, "body.top_k"),
        ("/generate", {"top_p": 0}, "body.top_p"),
        ("/generate", {"top_p": 1.5}, "body.top_p"),
        ("/generate", {"seed": -1}, "body.seed"),
        ("/generate", {"seed": 1.5}, "body.seed"),
        ("/generate", {"stop": "\n"}, "body.stop"),
        ("/generate", {"stop": [""]}, "body.stop[0]"),
        ("/generate", {"stream": "yes"}, "body.stream"),
        ("/generate", {"repetition_penalty": 0}, "body.repetition_penalty"),
        ("/generate", {"repetition_penalty": 5e-324}, "body.repetition_penalty"),
        ("/generate", {"repetition_penalty": 10.5}, "body.repetition_penalty"),
        ("/generate", {"frequency_penalty": 2.01}, "body.frequency_penalty"),
        ("/generate", {"presence_penalty": -2.5}, "body.presence_penalty"),
        ("/generate", {"presence_penalty": "1"}, "body.presence_penalty"),
    ],
)
def test_schema_violations_are_422_naming_the_field(
    client: TestClient, path: str, body: dict[str, Any], field: str
) -> None:
    assert_error(client.post(path, json=body), 422, "validation_error", field)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/forecast", {"series": [1, 2, 3]}, "body.series"),  # shorter than the window (4)
        ("/forecast", {"series": [1.0] * 11}, "body.series"),  # max_series_length 10
        ("/forecast", {"series": SERIES, "horizon": 7}, "body.horizon"),  # model max is 6
        ("/forecast/batch", {"series": [SERIES, [1]]}, "body.series[1]"),
        ("/sentiment", {"texts": ["a", "b", "c"]}, "body.texts"),  # max_texts 2
        ("/sentiment", {"text": "x" * 21}, "body.text"),  # max_text_chars 20
        ("/sentiment", {"texts": ["ok", "y" * 21]}, "body.texts[1]"),
        ("/generate", {"prompt": "p" * 31}, "body.prompt"),  # max_prompt_chars 30
        ("/generate", {"max_tokens": 41}, "body.max_tokens"),  # max_tokens 40
        ("/generate", {"temperature": 2.5}, "body.temperature"),  # max_temperature 2
        ("/generate", {"top_k": 5}, "body.top_k"),  # the fake's vocabulary has 4 characters
        ("/generate", {"stop": ["a", "b", "c"]}, "body.stop"),  # max_stop_sequences 2
        ("/generate", {"stop": ["long stop"]}, "body.stop[0]"),  # max_stop_chars 4
    ],
)
def test_configured_and_model_limits_are_422_naming_the_field(
    make_client: Callable[..., TestClient], path: str, body: dict[str, Any], field: str
) -> None:
    client = make_client(
        max_series_length=10,
        max_texts=2,
        max_text_chars=20,
        max_prompt_chars=30,
        max_tokens=40,
        max_temperature=2.0,
        max_stop_sequences=2,
        max_stop_chars=4,
    )
    assert_error(client.post(path, json=body), 422, "validation_error", field)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_non_finite_numbers_are_422(client: TestClient, token: str) -> None:
    # Python's json module parses all of these (1e999 becomes inf): they must still be refused.
    body = f'{{"series": [1, 2, 3, 4, {token}]}}'
    response = client.post("/forecast", content=body, headers=JSON)
    detail = assert_error(response, 422, "validation_error", "body.series[4]")["details"][0]
    assert "finite" in detail["message"]


def test_non_finite_sampling_parameters_are_422(client: TestClient) -> None:
    response = client.post("/generate", content='{"temperature": NaN}', headers=JSON)
    assert_error(response, 422, "validation_error", "body.temperature")


@pytest.mark.parametrize("body", ['{"series": [1, 2,', "{'series': [1]}", "", "[1, 2", "nul"])
def test_malformed_json_is_400(client: TestClient, body: str) -> None:
    response = client.post("/forecast", content=body or "{", headers=JSON)
    assert_error(response, 400, "invalid_json", "body")


def test_a_body_that_is_not_json_is_415(client: TestClient) -> None:
    response = client.post("/forecast", content='{"series": [1, 2, 3, 4]}')  # no content-type
    assert_error(response, 415, "unsupported_media_type", "headers.content-type")


def test_unknown_path_is_404(client: TestClient) -> None:
    assert_error(client.get("/nowhere"), 404, "not_found")
    assert_error(client.post("/forecast/nowhere", json={}), 404, "not_found")


def test_wrong_method_is_405_with_allow(client: TestClient) -> None:
    response = client.get("/forecast")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    assert_error(client.post("/health"), 405, "method_not_allowed")


def test_a_declared_oversized_body_is_413(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_body_bytes=100)
    body = '{"series": [' + ", ".join(["1.0"] * 100) + "]}"
    body_json = assert_error(
        client.post("/forecast", content=body, headers=JSON), 413, "payload_too_large"
    )
    assert "100 bytes" in body_json["error"]


def test_a_streamed_oversized_body_is_413(make_client: Callable[..., TestClient]) -> None:
    # A generator makes the client send chunks without Content-Length: the bytes are counted.
    client = make_client(max_body_bytes=100)

    def chunks() -> Iterator[bytes]:
        yield b'{"series": ['
        for _ in range(50):
            yield b"1.0, "
        yield b"1.0]}"

    response = client.post("/forecast", content=chunks(), headers=JSON)
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_a_body_at_the_limit_is_accepted(make_client: Callable[..., TestClient]) -> None:
    body = '{"series": [1, 2, 3, 4]}'
    client = make_client(max_body_bytes=len(body))
    assert client.post("/forecast", content=body, headers=JSON).status_code == 200


def test_a_loading_model_is_503_with_retry_after(tmp_path: Any) -> None:
    settings = make_settings(models_dir=tmp_path)
    release = threading.Event()

    def slow_build(task: Task, settings: Settings, batching: Batching) -> Predictor:
        release.wait(timeout=10)
        return FakeForecaster()

    with TestClient(create_app(settings, Registry(settings, builder=slow_build))) as client:
        response = client.post("/forecast", json={"series": SERIES})
        release.set()
    body = assert_error(response, 503, "model_not_ready")
    assert "loading" in body["error"] and response.headers["retry-after"] == "5"


class ExplodingForecaster(FakeForecaster):
    async def forecast(self, series: Any, horizon: int, season: int, *asked: Any) -> Any:
        raise RuntimeError("secret detail in /srv/models/forecast/3/model.onnx")


def test_a_bug_is_a_generic_500_without_trace_or_path(tmp_path: Any) -> None:
    settings = make_settings(models_dir=tmp_path)
    registry = fake_registry(settings, predictors={"forecast": ExplodingForecaster()})
    with TestClient(create_app(settings, registry)) as client:
        response = client.post("/forecast", json={"series": SERIES})
    body = assert_error(response, 500, "internal_error")
    assert body == {"error": "internal server error", "type": "internal_error", "details": []}
    assert "secret" not in response.text and "Traceback" not in response.text
