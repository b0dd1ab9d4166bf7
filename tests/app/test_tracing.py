"""OpenTelemetry tracing: off by default and not even imported; when configured, one server
span per request continuing the caller's trace, with a child span per stage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import make_settings, wait_until_ready

pytestmark = pytest.mark.slow

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("variables", "on"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_tracing_is_on_only_when_the_otel_variables_ask(
    variables: dict[str, str], on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert make_settings().tracing is on


def test_without_configuration_the_opentelemetry_sdk_is_never_imported(tiny_models: Path) -> None:
    script = (
        "import sys\nfrom fastapi.testclient import TestClient\n"
        "from app.config import Settings\nfrom app.main import create_app\n"
        f"app = create_app(Settings(_env_file=None, models_dir={str(tiny_models)!r}))\n"
        "TestClient(app).get('/health')\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    )
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_a_request_is_one_server_span_with_a_child_per_stage(tiny_models: Path) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    settings = make_settings(models_dir=tiny_models, OTEL_TRACES_EXPORTER="otlp")
    with TestClient(create_app(settings, span_exporter=exporter)) as client:
        wait_until_ready(client, 60)
        exporter.clear()
        body = {"series": [float(v % 24) for v in range(100)], "horizon": 4}
        headers = {"traceparent": TRACEPARENT, "X-Request-ID": "traced-1"}
        assert client.post("/forecast", json=body, headers=headers).status_code == 200
    spans = exporter.get_finished_spans()
    (server,) = [s for s in spans if s.parent is None or s.parent.span_id == 0xF067AA0BA902B7]
    assert format(server.context.trace_id, "032x") == TRACE_ID  # the caller's trace continues
    assert server.attributes["seqserve.request_id"] == "traced-1"
    assert server.attributes["seqserve.model"] == "forecast:1"
    children = [
        s for s in spans if s.parent is not None and s.parent.span_id == server.context.span_id
    ]
    ours = [s for s in children if s.instrumentation_scope.name == "seqserve"]
    names = [s.name for s in sorted(ours, key=lambda s: s.start_time)]
    assert names == ["read", "validate", "queue", "preprocess", "model", "postprocess", "respond"]
    model = next(s for s in ours if s.name == "model")
    assert model.attributes["seqserve.batch_rows"] == 1
    assert all(server.start_time <= s.start_time <= s.end_time for s in ours)
