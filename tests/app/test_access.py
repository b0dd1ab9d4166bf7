"""Optional API key on the inference endpoints; probes and metadata stay open."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from tests.helpers import assert_error

JSON = {"content-type": "application/json"}

REQUESTS = [
    ("/forecast", {"series": [1.0, 2.0, 3.0, 4.0]}),
    ("/forecast/batch", {"series": [[1.0, 2.0, 3.0, 4.0]]}),
    ("/sentiment", {"text": "good"}),
    ("/generate", {"max_tokens": 3}),
]


@pytest.mark.parametrize(("path", "body"), REQUESTS)
def test_without_a_configured_key_inference_is_open(
    client: TestClient, path: str, body: dict[str, object]
) -> None:
    assert client.post(path, json=body).status_code == 200


@pytest.mark.parametrize(("path", "body"), REQUESTS)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "s3cre"}, {"Authorization": "s3cret"}],
)
def test_a_missing_or_wrong_key_is_401(
    make_client: Callable[..., TestClient],
    path: str,
    body: dict[str, object],
    headers: dict[str, str],
) -> None:
    client = make_client(api_key="s3cret")
    response = client.post(path, json=body, headers=headers)
    error = assert_error(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "s3cret" not in response.text and "Bearer" in error["error"]


@pytest.mark.parametrize("headers", [{"Authorization": "Bearer s3cret"}, {"X-API-Key": "s3cret"}])
@pytest.mark.parametrize(("path", "body"), REQUESTS)
def test_the_right_key_is_accepted(
    make_client: Callable[..., TestClient],
    path: str,
    body: dict[str, object],
    headers: dict[str, str],
) -> None:
    client = make_client(api_key="s3cret")
    assert client.post(path, json=body, headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/models", "/metrics"])
def test_probes_and_metadata_need_no_key(make_client: Callable[..., TestClient], path: str) -> None:
    assert make_client(api_key="s3cret").get(path).status_code == 200


def test_the_key_never_shows_in_settings_output(make_client: Callable[..., TestClient]) -> None:
    client = make_client(api_key="s3cret")
    assert "s3cret" not in repr(client.app.state.settings)  # type: ignore[attr-defined]


def test_a_malformed_body_without_the_key_is_401_not_400(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(api_key="s3cret")
    response = client.post("/forecast", content=b'{"series": [1, 2', headers=JSON)
    assert_error(response, 401, "unauthorized")
    assert "character" not in response.text  # nothing about the body reaches a stranger


def test_the_key_is_checked_before_any_redirect_or_route(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(api_key="s3cret")
    response = client.post("/forecast/", json={}, headers={"Host": "evil.example"})
    assert_error(response, 404, "not_found")
    assert "location" not in response.headers


@pytest.mark.parametrize("key", ["", " ", "two words", "s3cret ", "caf\u00e9", "k" * 4097])
def test_an_unusable_key_is_a_start_up_error(key: str) -> None:
    with pytest.raises(ValidationError, match="unset it to serve without a key"):
        Settings(_env_file=None, api_key=key)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "path",
    [
        "/v2/models/forecast/versions/1.0/infer",
        "/v2/models/forecast/versions/+1/infer",
        "/models/forecast/versions/1_0/forecast",
        "/models/-odd-name-/forecast",
        "/v1/completions",
    ],
)
def test_odd_model_paths_still_need_the_key(
    make_client: Callable[..., TestClient], path: str
) -> None:
    response = make_client(api_key="s3cret").post(path, json={"inputs": []})
    assert response.status_code == 401, response.text  # on /v1/ in OpenAI's error shape


def test_refused_admin_paths_do_not_multiply_metric_labels(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(api_key="s3cret")
    for i in range(3):
        assert client.post(f"/admin/made-up-{i}").status_code == 401
    metrics = client.get("/metrics").text
    assert "made-up" not in metrics and 'endpoint="/admin/*"' in metrics
