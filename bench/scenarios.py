"""The scenarios of `python -m bench` (bench/cli.py): the servers it starts, the loads it runs
on them, and the report of what it measured."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.artifacts import ONNX_FILE, resolve_version
from bench import payloads
from bench.client import Connection
from bench.load import LoadResult, measure
from bench.options import PROJECT_ROOT, RESULTS
from bench.procs import HOST, Server, ServerFailed, free_port, serve
from bench.report import Row, StartUp, generation_lines, machine, startup_lines, table
from bench.service import auth_headers, running_service
from bench.streams import GenerationResult, run_generation
from bench.targets import speed_targets, target_lines, targets

if TYPE_CHECKING:
    from bench.cli import BenchOptions


def _baseline_skip_reason(forecast_dir: Path) -> str | None:
    if not (forecast_dir / ONNX_FILE).is_file():
        return f"{forecast_dir.name}/{ONNX_FILE} is missing"
    return None


def _uvicorn(module: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"{module}:app",
        f"--host={HOST}",
        f"--port={port}",
        "--workers=1",
        "--no-access-log",
        "--log-level=warning",
    ]


def _smoke(
    server: Server, path: str, bodies: Sequence[bytes], headers: dict[str, str], key: str
) -> None:
    """Each body once, checked: a benchmark of error answers would measure nothing useful."""

    async def each() -> list[tuple[int, bytes]]:
        async with Connection(HOST, server.port, headers) as connection:
            return [await connection.request("POST", path, body) for body in bodies]

    for i, (status, answer) in enumerate(asyncio.run(each())):
        if status != 200:
            raise ServerFailed(f"{server.name} {path} body {i} answered {status}: {answer[:300]!r}")
        if key not in json.loads(answer):
            raise ServerFailed(f"{server.name} {path} answered without {key!r}: {answer[:300]!r}")


class Bench:
    """Runs the scenarios and keeps every result for the report."""

    def __init__(self, options: BenchOptions) -> None:
        self.o = options
        self.forecast = payloads.forecast_bodies()
        self.sentiment = payloads.sentiment_bodies(options.data_dir)
        self.results: dict[tuple[str, str, int], LoadResult] = {}
        self.generation: GenerationResult | None = None
        self.startup: StartUp | None = None
        self.notes: list[str] = []
        # With SEQSERVE_API_KEY set the service wants it; every server gets the same header.
        self.headers = auth_headers()

    def load(self, server: Server, path: str, bodies: Sequence[bytes], connections: int) -> None:
        label = f"{server.name} {path}, {connections} conn{'s' if connections > 1 else ''}"
        print(f"  {label}: {self.o.warmup:.0f} s warm-up + {self.o.duration:.0f} s", flush=True)
        o = self.o
        result = measure(
            o.generator, server, path, bodies, connections, o.duration, o.warmup, self.headers
        )
        self.results[(server.name, path, connections)] = result
        print(
            f"    {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms, {result.errors} errors, "
            f"server CPU {result.cpu_ms_per_request or 0:.3f} ms/request",
            flush=True,
        )

    def run_ceiling_and_service(self) -> None:
        """The servers up at once (an idle server costs nothing) and their scenarios alternate,
        so each service number is measured right after the numbers it is divided by."""
        with contextlib.ExitStack() as stack:
            port = free_port()
            command = _uvicorn("bench.servers.ceiling", port)
            ceiling = stack.enter_context(
                serve("ceiling", command, port, dict(os.environ), RESULTS, PROJECT_ROOT)
            )
            ceiling_ready = ceiling.wait_ready("/ready", timeout=60)
            print(f"ceiling ready in {ceiling_ready:.2f} s", flush=True)
            baseline = None if self.o.no_baseline else stack.enter_context(self._baseline())
            service = stack.enter_context(running_service(self.o.models_dir))
            port = service.port
            ready = service.ready_seconds or 0.0
            print(f"service ready in {ready:.2f} s", flush=True)

            _smoke(ceiling, "/forecast", self.forecast, self.headers, "status")
            _smoke(service, "/forecast", self.forecast, self.headers, "forecast")
            _smoke(service, "/sentiment", self.sentiment, self.headers, "predictions")
            others = [baseline] if baseline is not None else []
            for server in others:
                _smoke(server, "/forecast", self.forecast, self.headers, "forecast")
            for connections in (self.o.connections, 1):
                for server in (ceiling, service, *others):
                    self.load(server, "/forecast", self.forecast, connections)
            self.load(service, "/sentiment", self.sentiment, self.o.connections)

            print(f"  service /generate: 1 stream x 3, then {self.o.streams} at once", flush=True)
            body = payloads.generate_body(self.o.max_tokens)
            self.generation = run_generation(
                HOST, port, body, self.headers, concurrent=self.o.streams
            )
            self.startup = StartUp(ready, ceiling_ready, service.rss_bytes())

    @contextlib.contextmanager
    def _baseline(self) -> Iterator[Server | None]:
        """The plain FastAPI + ONNX Runtime server on the service's forecast model, or None."""
        forecast_dir = resolve_version(self.o.models_dir / "forecast")
        if reason := _baseline_skip_reason(forecast_dir):
            self.notes.append(f"FastAPI + ONNX Runtime baseline skipped: {reason}")
            yield None
            return
        port = free_port()
        env = dict(os.environ, BENCH_FORECAST_DIR=str(forecast_dir))
        command = _uvicorn("bench.servers.baseline", port)
        with serve("baseline", command, port, env, RESULTS, PROJECT_ROOT) as server:
            print(f"baseline ready in {server.wait_ready('/ready', timeout=180):.2f} s", flush=True)
            yield server

    def rows(self) -> dict[str, Row]:
        n = self.o.connections
        many = f"{n} conn{'s' if n > 1 else ''}"
        specs = {
            "ceiling32": (f"hello-world ceiling /forecast, {many}", "ceiling", "/forecast", n),
            "forecast32": (f"**seqserve /forecast, {many}**", "service", "/forecast", n),
            "baseline32": (
                f"FastAPI + ONNX Runtime baseline /forecast, {many}",
                "baseline",
                "/forecast",
                n,
            ),
            "ceiling1": ("hello-world ceiling /forecast, 1 conn", "ceiling", "/forecast", 1),
            "forecast1": ("**seqserve /forecast, 1 conn**", "service", "/forecast", 1),
            "baseline1": (
                "FastAPI + ONNX Runtime baseline /forecast, 1 conn",
                "baseline",
                "/forecast",
                1,
            ),
            "sentiment32": (f"**seqserve /sentiment, {many}**", "service", "/sentiment", n),
        }
        rows = {}
        for key, (label, server, path, conns) in specs.items():
            if (result := self.results.get((server, path, conns))) is not None:
                ceiling = self.results.get(("ceiling", "/forecast", conns))
                rows[key] = Row(label, result, ceiling)
        return rows

    def report(self, busy_before: float) -> str:
        rows = self.rows()
        checked = targets(
            rows.get("forecast32"),
            rows.get("forecast1"),
            rows.get("sentiment32"),
            self.generation,
            self.startup,
        )
        o = self.o
        parts = [
            "## Benchmark",
            f"{o.duration:.0f} s per scenario after {o.warmup:.0f} s of warm-up, one uvicorn "
            "worker per server, loopback; `/forecast` bodies: 336 values, horizon 48; "
            f"`/sentiment` bodies: {payloads.sentiment_source(o.data_dir)}; models from "
            f"`{o.models_dir}`. Ratio: req/s over the hello-world ceiling's at the same "
            "connection count. Server CPU: CPU time of the server process (all its threads) "
            "per request while measured, steadier than req/s when other work shares the machine.",
            "",
            table(list(rows.values())),
            "",
            generation_lines(self.generation, o.max_tokens),
            startup_lines(self.startup),
            *(f"- {note}" for note in self.notes),
            "",
            "### Targets (issue 4)",
            target_lines(checked),
            "",
            "### Targets (issue 15)",
            target_lines(
                speed_targets(
                    rows.get("forecast32"),
                    rows.get("forecast1"),
                    rows.get("baseline1"),
                    rows.get("sentiment32"),
                )
            ),
            "",
            "### Machine",
            machine(o.generator, busy_before),
        ]
        return "\n".join(parts) + "\n"
