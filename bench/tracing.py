"""`python -m bench.tracing [--models-dir DIR]`: what tracing and request capture cost.

The same app three times, in-process (no sockets, so the HTTP stack's cost is not diluted by the
network's): tracing off; tracing on, with every span handed to an in-memory exporter as it ends
(the span-making cost; a real OTLP exporter batches and sends on its own thread); and capture of
every request (SEQSERVE_CAPTURE_FRACTION 1) to a temporary file. Sequential `/forecast`
requests on one model, the apps alternating in rounds so machine load hits all alike. Reports
the median CPU time per request of each and their ratio; asserts nothing.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from app.config import Settings
from app.main import create_app
from bench.options import Options, parse

ROUNDS, REQUESTS = 7, 300
BODY = {"series": [10.0 + (i % 24) for i in range(200)], "horizon": 24}


async def cpu_ms_per_request(app: FastAPI) -> float:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        started = time.process_time()
        for _ in range(REQUESTS):
            response = await client.post("/forecast", json=BODY)
            assert response.status_code == 200, response.text
        return (time.process_time() - started) * 1000 / REQUESTS


async def ready(app: FastAPI) -> None:
    app.state.registry.load_all()  # what the lifespan would start, done here at once


def main(argv: list[str] | None = None) -> None:
    args = parse(Options, argv, "python -m bench.tracing", __doc__)
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    plain = Settings(models_dir=args.models_dir, tasks=("forecast",))
    traced = plain.model_copy(update={"otel_traces_exporter": "otlp"})
    exporter = InMemorySpanExporter()
    captured = plain.model_copy(
        update={"capture_file": Path(tempfile.mkdtemp()) / "c.jsonl", "capture_fraction": 1.0}
    )
    apps = {
        "off": create_app(plain),
        "on": create_app(traced, span_exporter=exporter),
        "capture": create_app(captured),
    }
    for app in apps.values():
        asyncio.run(ready(app))
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(ROUNDS):
        for name, app in apps.items():
            samples[name].append(asyncio.run(cpu_ms_per_request(app)))
            exporter.clear()
    off, on, capture = (statistics.median(samples[n]) for n in ("off", "on", "capture"))
    print(f"/forecast, {REQUESTS} sequential requests x {ROUNDS} rounds, in-process, CPU time:")
    print(f"  tracing off: {off:.3f} ms per request")
    print(f"  tracing on:  {on:.3f} ms per request ({on / off:.2f}x, +{on - off:.3f} ms)")
    extra = capture - off
    print(f"  capture all: {capture:.3f} ms per request ({capture / off:.2f}x, +{extra:.3f} ms)")


if __name__ == "__main__":
    main()
