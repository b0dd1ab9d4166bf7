"""The runs: /forecast capacity then open-loop overload, and /generate stream clients."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable
from typing import TypeVar

from bench import payloads
from bench.client import Connection, run
from bench.closedloop import closed_loop
from bench.jobs import CONNECTION_ERRORS, post, stream
from bench.load import LoadResult, measure, run_load
from bench.metrics import batch_rows, delta, model_calls, server_counts
from bench.openloop import open_loop
from bench.overload.options import OverloadOptions as Options
from bench.overload.results import (
    ForecastRun,
    StreamRun,
    latencies,
    service_delta,
)
from bench.overload.tables import ms, statuses_text
from bench.procs import HOST, Server
from bench.service import auth_headers, health_check

T = TypeVar("T")
Calls = dict[str, float]  # model_calls() totals


async def probed(
    coroutine: Awaitable[T], host: str, port: int, every: float = 0.05, timeout: float = 10.0
) -> tuple[T, list[float]]:
    """Await `coroutine` while timing a `GET /health` every `every` seconds on a connection of
    its own: how long the service's event loop takes to get to a request that costs nothing.
    A probe that fails or times out counts as `timeout` seconds."""
    latencies: list[float] = []

    async def probe() -> None:
        while True:
            try:
                async with Connection(host, port) as connection:
                    while True:
                        sent = time.perf_counter()
                        await asyncio.wait_for(connection.request("GET", "/health"), timeout)
                        latencies.append(time.perf_counter() - sent)
                        await asyncio.sleep(every)
            except (TimeoutError, *CONNECTION_ERRORS):
                latencies.append(timeout)

    task = asyncio.create_task(probe())
    try:
        return await coroutine, latencies
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _capacity(o: Options, server: Server, bodies: list[bytes]) -> tuple[LoadResult, Calls]:
    """Closed loop after a warm-up: what the service serves, and its model calls meanwhile."""
    headers = auth_headers()
    run_load(
        o.generator, server.url + "/forecast", bodies, o.capacity_connections, o.warmup, headers
    )
    before = model_calls(server, "forecast")
    capacity = measure(
        o.generator, server, "/forecast", bodies, o.capacity_connections, o.capacity_seconds,
        warmup=0, headers=headers,
    )  # fmt: skip
    return capacity, delta(model_calls(server, "forecast"), before)


def forecast_run(o: Options, server: Server, label: str) -> ForecastRun:
    bodies = payloads.forecast_bodies()
    print(f"[{label}] capacity: {o.warmup:g} s warm-up + {o.capacity_seconds:g} s", flush=True)
    capacity, calls_at_capacity = _capacity(o, server, bodies)
    rate = o.factor * capacity.rps
    print(
        f"[{label}] capacity {capacity.rps:,.0f} req/s (p99 {capacity.p99_ms:.0f} ms, "
        f"{capacity.errors} errors); offering {rate:,.0f} req/s open loop for {o.seconds:g} s",
        flush=True,
    )
    jobs = [post("/forecast", body) for body in bodies]
    rss_before = server.rss_bytes() / 2**20
    counts, calls = server_counts(server), model_calls(server, "forecast")
    cpu = server.cpu_seconds()
    load = open_loop(
        HOST, server.port, rate, o.seconds, lambda i: ("forecast", jobs[i % len(jobs)]),
        connections=o.connections, max_wait=o.max_wait, timeout=o.timeout, headers=auth_headers(),
    )  # fmt: skip
    result, probe = run(probed(load, HOST, server.port))
    found = ForecastRun(
        label=label,
        capacity=capacity,
        rate=rate,
        result=result,
        server_cpu_s=server.cpu_seconds() - cpu,
        server_delta=service_delta(server_counts(server), counts),
        rss_before_mb=rss_before,
        after=health_check(server),
        probe=probe,
        calls_at_capacity=calls_at_capacity,
        calls=delta(model_calls(server, "forecast"), calls),
    )
    print(
        f"[{label}] served {len(found.served):,}, shed {len(found.shed):,}, other "
        f"{len(found.other):,}; 200 p99 {ms(latencies(found.served), 0.99)} ms, 503 p99 "
        f"{ms(latencies(found.shed), 0.99)} ms; {found.after.text()}",
        flush=True,
    )
    return found


def stream_run(o: Options, server: Server, limit: int, in_flight: int | None) -> StreamRun:
    clients = o.stream_factor * limit
    print(f"[generate] {clients} stream clients (limit {limit}) for {o.stream_seconds:g} s")
    body = payloads.generate_body(o.stream_tokens)
    before, rows_before = server_counts(server), batch_rows(server, "generate")
    job = stream(body)
    load = closed_loop(
        HOST, server.port, lambda _: job, clients, o.stream_seconds, timeout=o.timeout,
        headers=auth_headers(), pause=o.retry_pause, label="generate",
    )  # fmt: skip
    (records, elapsed), probe = run(probed(load, HOST, server.port))
    found = StreamRun(
        limit, in_flight, clients, o.stream_seconds, o.stream_tokens, records, elapsed
    )
    found.probe, found.after = probe, health_check(server)
    rows = batch_rows(server, "generate")
    bounds = sorted(b for b in rows if b >= limit)
    if bounds:  # calls with more rows than the smallest bucket bound at or above the limit
        edge, everything = bounds[0], max(rows)
        steps = rows[everything] - rows_before.get(everything, 0.0)
        over = steps - (rows[edge] - rows_before.get(edge, 0.0))
        found.steps_over_limit = f"{over:,.0f} of {steps:,.0f} steps had more than {edge:g}"
    found.server_statuses = statuses_text(service_delta(server_counts(server), before))
    accepted = len(found.accepted())
    print(f"[generate] {accepted:,} accepted of {len(records):,}; {found.after.text()}")
    return found
