"""OpenTelemetry tracing: one server span per request, with a child span per stage.

Off unless the standard OTEL_* variables ask for it (Settings.tracing); then, and only then, the
`otel` extra's SDK is imported. The server span, W3C `traceparent` propagation, the HTTP
attributes and spans for FastAPI's own operations (dependencies, endpoint, serialisation) come
from FastAPI's native telemetry, given our tracer provider; this module adds the stages of
app/stages.py as children, with the times they really took (they run on other threads, so they
are recorded at the end of the request), and the request id and model on the server span.
"""

from __future__ import annotations

from typing import Any

from fastapi.telemetry import TelemetryConfig

from app.config import Settings
from app.stages import Timeline

_BATCH_STAGES = ("preprocess", "model", "postprocess")


def tracing(settings: Settings, exporter: Any = None) -> tuple[TelemetryConfig, StageSpans]:
    """(FastAPI's `telemetry` configuration, what records the request's own spans).

    `exporter` replaces the configured one (tests pass the SDK's in-memory exporter)."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
            SimpleSpanProcessor,
        )
    except ImportError as missing:
        raise RuntimeError(
            "tracing is configured (OTEL_* variables) but OpenTelemetry is not installed: "
            "pip install 'seqserve[otel]'"
        ) from missing

    # Resource.create() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES itself.
    provider = TracerProvider(resource=Resource.create({"service.name": "seqserve"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.otel_traces_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:  # OTLP over HTTP; the exporter reads its endpoint, headers and timeout from OTEL_*
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    # Traces only: our metrics are Prometheus', and our logs go to stderr.
    telemetry: TelemetryConfig = {"tracer_provider": provider, "metrics": False, "logs": False}
    return telemetry, StageSpans(provider.get_tracer("seqserve"))


class StageSpans:
    """Called by the request middleware (app/middleware.py) in the server span's context."""

    def __init__(self, tracer: Any) -> None:
        from opentelemetry import trace

        self.tracer, self.current_span = tracer, trace.get_current_span

    def response_started(self, timeline: Timeline, request_id: str) -> None:
        """While the server span is still open: what identifies the request."""
        server = self.current_span()
        server.set_attribute("seqserve.request_id", request_id)
        if timeline.model:
            server.set_attribute("seqserve.model", timeline.model)

    def request_ended(self, timeline: Timeline, end: float) -> None:
        """One child span per stage, with the times it really took."""
        moment = timeline.begin
        for stage, seconds in timeline.stages(end).items():
            start_ns = timeline.wall_ns(moment)
            moment += seconds
            span = self.tracer.start_span(stage, start_time=start_ns)
            if stage in _BATCH_STAGES and timeline.batch is not None:
                span.set_attribute("seqserve.batch_rows", timeline.batch.rows)
            span.end(end_time=timeline.wall_ns(moment))
