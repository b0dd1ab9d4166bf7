"""Health, readiness, model listing, request ids, logs and CORS (Prometheus metrics:
test_metrics.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.batching import Batching
from app.config import Settings
from app.logs import TextFormatter
from app.main import create_app
from app.registry import Registry, Target
from app.tasks.base import Predictor
from tests.helpers import FAKES, assert_error, make_settings


def test_health_is_ok(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_lists_the_served_versions(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "models": {"forecast": "7", "sentiment": "2", "generate": "1"},
    }


def test_ready_is_503_with_each_model_state_and_how_to_fix(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(missing=("forecast",))
    body = assert_error(client.get("/ready"), 503, "not_ready", "forecast")
    states = {d["field"]: d["message"] for d in body["details"]}
    assert states["sentiment"] == "ready" and states["generate"] == "ready"
    assert states["forecast"] == (
        "failed: no trained version in forecast/; train one with `python -m training forecast`"
    )


def test_models_are_loaded_in_the_background_while_health_answers(tmp_path: Path) -> None:
    release = threading.Event()

    def slow_build(target: Target, settings: Settings, batching: Batching) -> Predictor:
        release.wait(timeout=10)
        return FAKES[target.task]()

    settings = make_settings(models_dir=tmp_path)
    registry = Registry(settings, builder=slow_build)
    with TestClient(create_app(settings, registry)) as client:
        assert client.get("/health").status_code == 200
        body = assert_error(client.get("/ready"), 503, "not_ready")
        assert {d["message"] for d in body["details"]} <= {"pending", "loading"}
        release.set()
        for _ in range(200):
            if client.get("/ready").status_code == 200:
                break
            threading.Event().wait(0.01)
        assert client.get("/ready").status_code == 200


def test_models_describe_each_model(make_client: Callable[..., TestClient]) -> None:
    client = make_client(missing=("generate",))
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    assert models["forecast"]["state"] == "ready"
    assert models["forecast"]["info"]["version"] == "7"
    assert models["forecast"]["info"]["input"] == {"window": 4, "max_horizon": 6}
    assert models["generate"]["state"] == "failed" and models["generate"]["info"] is None
    assert "python -m training generate" in models["generate"]["reason"]


def test_request_id_is_echoed_when_sane(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123.x:y_z"})
    assert response.headers["x-request-id"] == "abc-123.x:y_z"


@pytest.mark.parametrize("given", ["", "has space", "a" * 200, "new\\nline", "\xe9"])
def test_request_id_is_generated_when_missing_or_odd(client: TestClient, given: str) -> None:
    # Sent as latin-1 bytes: non-ASCII header values are legal on the wire, if unusual.
    headers = {"X-Request-ID": given.encode("latin-1")} if given else {}
    first = client.get("/health", headers=headers).headers["x-request-id"]
    second = client.get("/health", headers=headers).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", first) and first != second


def test_one_json_log_line_per_request(
    capfd: pytest.CaptureFixture[str], client: TestClient
) -> None:
    capfd.readouterr()
    client.post("/forecast", json={"series": [1, 2, 3, 4]}, headers={"X-Request-ID": "log-me"})
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line]
    (entry,) = [e for e in lines if e.get("request_id") == "log-me"]
    assert entry["message"] == "request" and entry["level"] == "info"
    assert entry["method"] == "POST" and entry["path"] == "/forecast" and entry["status"] == 200
    assert entry["duration_ms"] >= 0


def test_text_logs_escape_control_characters_from_clients() -> None:
    record = logging.makeLogRecord(
        {"msg": "request", "levelname": "INFO", "path": "/x\n2026-01-01 INFO forged: admin\u2028"}
    )
    line = TextFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line and "path=/x\\x0a2026" in line


def test_a_client_that_leaves_mid_upload_is_499_not_500(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    messages = iter([
        {"type": "http.request", "body": b'{"series": [1,', "more_body": True},
        {"type": "http.disconnect"},
    ])  # fmt: skip

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        raise AssertionError(f"nothing is sent to a client that left: {message}")

    scope = {"type": "http", "method": "POST", "path": "/forecast", "headers": [],
             "query_string": b"", "raw_path": b"/forecast"}  # fmt: skip
    asyncio.run(client.app(scope, receive, send))  # type: ignore[arg-type]
    metrics = client.get("/metrics").text
    assert 'endpoint="unmatched",method="POST",status="499"} 1.0' in metrics
    assert 'status="500"' not in metrics and "Traceback" not in capfd.readouterr().err


def test_docs_work_without_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "cdn" not in page.text.lower()
    links = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', page.text)
    assert len(links) >= 2 and all(url.startswith("/docs/assets/") for url in links), links
    assert all(client.get(url).status_code == 200 for url in links)


def test_no_cors_headers_by_default(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://example.com"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origins_from_settings(make_client: Callable[..., TestClient]) -> None:
    client = make_client(cors_origins=("https://app.example.com",))
    allowed = client.get("/health", headers={"Origin": "https://app.example.com"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    other = client.get("/health", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers
