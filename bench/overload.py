"""`python -m bench.overload`: does the service shed load it cannot serve, fast, and survive?

1. Starts the real service (`python -m app`) and measures the capacity of `/forecast`: closed
   loop, 32 connections (wrk when installed), after a warm-up.
2. Offers 4x that rate open loop (bench/openloop.py: requests start on schedule whatever the
   answers, from a pool of at most 512 connections) for 10 s, and counts what came back: served
   (200), shed (503 `overloaded`, which must carry Retry-After), other answers (must be none),
   connection errors, and requests given up (no free connection within 1 s: "unsent"; no answer
   within 10 s of sending: "unanswered"). Latencies are from the moment a request was sent.
3. `/generate` streams: 4x the stream limit (SEQSERVE_MAX_STREAMS) clients at once for 10 s, each
   starting a stream again as soon as the last ended (100 ms after a 503): the excess must get a
   fast 503, the accepted streams must finish.
4. After each: the process is alive, `/health` and `/ready` answer 200.

When a run sheds nothing (the client could not fill the model's queue), it is repeated with a
lower SEQSERVE_BATCH_MAX_QUEUE_ROWS (`--lowered-queue-rows`). `--in-flight 16 64` and
`--queue-rows 64` add /forecast runs with other SEQSERVE_MAX_IN_FLIGHT or
SEQSERVE_BATCH_MAX_QUEUE_ROWS values, for comparison. Every /forecast run is a fresh service
process. During each run a `GET /health` every 50 ms shows how long the event loop takes to get
to a request that costs nothing. Prints a markdown report and writes it to
bench/results/overload.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.config import Settings
from bench import payloads
from bench.client import Connection
from bench.load import Generator, LoadResult, pick_generator, run_load
from bench.openloop import (
    CONNECTION_ERRORS,
    Answer,
    Job,
    OpenLoopResult,
    Record,
    open_loop,
    percentile,
    post,
    probed,
    run,
    stream,
)
from bench.procs import HOST, Server
from bench.report import cpu_busy, machine
from bench.service import (
    RESULTS,
    auth_headers,
    batch_rows,
    check_models,
    default_models_dir,
    health_check,
    model_calls,
    running_service,
    server_counts,
    stop_on_sigterm,
)


@dataclass(frozen=True)
class Options:
    models_dir: Path
    factor: float
    warmup: float
    capacity_seconds: float
    capacity_connections: int
    seconds: float
    connections: int
    max_wait: float
    timeout: float
    variants: list[dict[str, str]]  # one /forecast run each: settings over the service's own
    lowered_queue_rows: int | None
    stream_factor: int
    stream_seconds: float
    stream_tokens: int
    retry_pause: float
    fast_ms: float
    bounded_ms: float
    generator: Generator
    output: Path


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.overload", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--models-dir", type=Path, default=default_models_dir())
    add("--factor", type=float, default=4.0, help="offered load / measured capacity (4)")
    add("--warmup", type=float, default=2.0, help="seconds of load before measuring capacity")
    add("--capacity-seconds", type=float, default=5.0, help="closed-loop capacity run (5)")
    add("--capacity-connections", type=int, default=32)
    add("--seconds", type=float, default=10.0, help="open-loop run length (10)")
    add("--connections", type=int, default=512, help="open-loop connection pool (512)")
    add("--max-wait", type=float, default=1.0, help="give a request up unsent after (1 s)")
    add("--timeout", type=float, default=10.0, help="give a sent request up after (10 s)")
    add(
        "--queue-rows",
        type=int,
        nargs="*",
        default=[],
        help="also run /forecast with these SEQSERVE_BATCH_MAX_QUEUE_ROWS values",
    )
    add(
        "--lowered-queue-rows",
        type=int,
        default=32,
        help="rerun with this queue limit when a run sheds nothing (0: never)",
    )
    add(
        "--in-flight",
        type=int,
        nargs="*",
        default=[],
        help="also run /forecast with these SEQSERVE_MAX_IN_FLIGHT values",
    )
    add("--stream-factor", type=int, default=4, help="stream clients / SEQSERVE_MAX_STREAMS")
    add("--stream-seconds", type=float, default=10.0)
    add("--stream-tokens", type=int, default=200, help="max_tokens of each stream")
    add("--retry-pause", type=float, default=0.1, help="a stream client's pause after a 503")
    add("--fast-ms", type=float, default=100.0, help="a 503's p99 must be below this")
    add("--bounded-ms", type=float, default=1000.0, help="accepted p99 must be below this")
    add("--load-generator", choices=("auto", "wrk", "python"), default="auto")
    add("--output", type=Path, default=RESULTS / "overload.md")
    args = parser.parse_args(argv)
    return Options(
        models_dir=args.models_dir.resolve(),
        factor=args.factor,
        warmup=args.warmup,
        capacity_seconds=args.capacity_seconds,
        capacity_connections=args.capacity_connections,
        seconds=args.seconds,
        connections=args.connections,
        max_wait=args.max_wait,
        timeout=args.timeout,
        variants=[
            {},
            *({"SEQSERVE_MAX_IN_FLIGHT": str(n)} for n in args.in_flight),
            *({"SEQSERVE_BATCH_MAX_QUEUE_ROWS": str(n)} for n in args.queue_rows),
        ],
        lowered_queue_rows=args.lowered_queue_rows or None,
        stream_factor=args.stream_factor,
        stream_seconds=args.stream_seconds,
        stream_tokens=args.stream_tokens,
        retry_pause=args.retry_pause,
        fast_ms=args.fast_ms,
        bounded_ms=args.bounded_ms,
        generator=pick_generator(args.load_generator),
        output=args.output,
    )


# --- what a run found -----------------------------------------------------------------------


@dataclass(frozen=True)
class After:
    """The service right after a run."""

    alive: bool
    health: int
    ready: int
    rss_mb: float

    @property
    def ok(self) -> bool:
        return self.alive and self.health == 200 and self.ready == 200

    def text(self) -> str:
        alive = "alive" if self.alive else "**DEAD**"
        return f"{alive}, /health {self.health}, /ready {self.ready}"


def _shed(answer: Answer | None) -> bool:
    return answer is not None and answer.status == 503 and answer.kind == "overloaded"


def _other(answer: Answer | None) -> bool:
    return answer is not None and answer.status != 200 and not _shed(answer)


def _ms(values: Sequence[float], fraction: float) -> str:
    value = percentile(values, fraction)
    return "-" if value != value else f"{value * 1000:,.1f}"  # NaN: nothing measured


def _retry_after(records: Sequence[Record]) -> str:
    shed = [r.answer for r in records if r.answer is not None and _shed(r.answer)]
    if not shed:
        return "- (no 503)"
    values = sorted({a.retry_after for a in shed if a.retry_after is not None})
    missing = sum(a.retry_after is None for a in shed)
    shown = ", ".join(f"`{v}`" for v in values) or "none"
    return f"{len(shed) - missing:,} of {len(shed):,} (value {shown})"


_PROBES = ("/health", "/ready", "/metrics")


def _delta(
    counts: dict[tuple[str, str], float], before: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """Answers by (endpoint, status) the service counted between two /metrics scrapes, without
    this tool's own probes. Requests refused before routing are counted as "unmatched"."""
    delta = {key: n - before.get(key, 0.0) for key, n in counts.items()}
    return {key: n for key, n in delta.items() if n and key[0] not in _PROBES}


def _statuses(delta: dict[tuple[str, str], float]) -> str:
    parts = [f"{endpoint} {status}: {n:,.0f}" for (endpoint, status), n in sorted(delta.items())]
    return ", ".join(parts) or "none"


def _by_status(delta: dict[tuple[str, str], float], status: str) -> float:
    return sum(n for (_, s), n in delta.items() if s == status)


@dataclass
class ForecastRun:
    label: str  # the settings that differ from the service's own, or "service settings"
    capacity: LoadResult
    rate: float
    result: OpenLoopResult
    server_cpu_s: float  # during the open-loop run
    server_delta: dict[tuple[str, str], float]  # what the service's /metrics counted meanwhile
    rss_before_mb: float
    after: After
    probe: list[float]  # GET /health answer times during the open-loop run
    calls_at_capacity: dict[str, float]  # model_calls() deltas over the capacity run
    calls: dict[str, float]  # ... and over the open-loop run

    def records(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [r for r in self.result.records if predicate(r)]

    @property
    def served(self) -> list[Record]:
        return self.records(lambda r: r.answer is not None and r.answer.status == 200)

    @property
    def shed(self) -> list[Record]:
        return self.records(lambda r: _shed(r.answer))

    @property
    def other(self) -> list[Record]:
        return self.records(lambda r: _other(r.answer))

    def per_s(self, count: int) -> str:
        return f"{count / self.result.elapsed:,.0f}" if self.result.elapsed else "-"

    def cpu_per_503_ms(self) -> float | None:
        """Server CPU of one 503, estimated: the run's CPU less the 200s at the capacity run's
        CPU per request, over the 503s (both counted by the service itself)."""
        ok, shed = _by_status(self.server_delta, "200"), _by_status(self.server_delta, "503")
        per_200 = self.capacity.cpu_ms_per_request
        if not shed or per_200 is None:
            return None
        return max(0.0, (1000 * self.server_cpu_s - ok * per_200) / shed)


def forecast_table(runs: Sequence[ForecastRun], max_wait: float) -> str:
    def row(name: str, get: Callable[[ForecastRun], str]) -> str:
        return f"| {name} | " + " | ".join(get(r) for r in runs) + " |"

    def count(r: ForecastRun, error: str) -> str:
        return f"{r.result.count(lambda x: x.error == error):,}"

    def half(r: ForecastRun, second: bool) -> str:
        middle = r.result.seconds / 2
        return _ms([x.latency for x in r.served if (x.scheduled >= middle) == second], 0.99)

    def cpu(r: ForecastRun) -> str:
        answers = sum(1 for x in r.result.records if x.answer is not None)
        per = f"{1000 * r.server_cpu_s / answers:.2f} ms/answer" if answers else "-"
        return f"{r.server_cpu_s / r.result.elapsed:.2f} cores, {per}"

    lines = [
        "| | " + " | ".join(r.label for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
        row(
            "capacity, closed loop (req/s, p99 ms)",
            lambda r: f"{r.capacity.rps:,.0f} ({r.capacity.p99_ms:,.0f} ms)",
        ),
        row(
            "server CPU at capacity",
            lambda r: f"{r.capacity.cpu_ms_per_request or 0:.2f} ms/request",
        ),
        row("offered, scheduled (req/s)", lambda r: f"{r.rate:,.0f}"),
        row(
            "sent to the server (req/s)",
            lambda r: r.per_s(r.result.count(lambda x: x.sent is not None)),
        ),
        row("**served, 200 (req/s)**", lambda r: f"**{r.per_s(len(r.served))}**"),
        row("**shed, 503 overloaded (req/s)**", lambda r: f"**{r.per_s(len(r.shed))}**"),
        row("other HTTP answers (must be 0)", lambda r: f"{len(r.other):,}"),
        row("connection errors", lambda r: count(r, "connection")),
        row(
            f"unsent: no free connection in {max_wait:g} s",
            lambda r: count(r, "unsent"),
        ),
        row("unanswered: sent, no answer in time", lambda r: count(r, "unanswered")),
        row(
            "200 latency p50 / p99 (ms)",
            lambda r: f"{_ms(_lat(r.served), 0.5)} / {_ms(_lat(r.served), 0.99)}",
        ),
        row("200 p99, 1st half / 2nd half (ms)", lambda r: f"{half(r, False)} / {half(r, True)}"),
        row(
            "200 p99 from scheduled start (ms)",
            lambda r: _ms([x.from_schedule for x in r.served], 0.99),
        ),
        row(
            "new connections: connect p50 / p99 (ms)",
            lambda r: f"{_ms(_connects(r), 0.5)} / {_ms(_connects(r), 0.99)}",
        ),
        row(
            "503 latency p50 / p99 (ms)",
            lambda r: f"{_ms(_lat(r.shed), 0.5)} / {_ms(_lat(r.shed), 0.99)}",
        ),
        row("Retry-After on 503", lambda r: _retry_after(r.result.records)),
        row(
            "GET /health meanwhile, p50 / p99 (ms)",
            lambda r: f"{_ms(r.probe, 0.5)} / {_ms(r.probe, 0.99)}",
        ),
        row("service's own count (/metrics)", lambda r: _statuses(r.server_delta)),
        row("model calls at capacity: rows, ms each", lambda r: _calls(r.calls_at_capacity)),
        row("model calls during the run: rows, ms each", lambda r: _calls(r.calls)),
        row("server CPU during the run", cpu),
        row(
            "server CPU per 503 (estimate)",
            lambda r: "-" if (c := r.cpu_per_503_ms()) is None else f"{c:.2f} ms",
        ),
        row(
            "client: connections opened, peak busy",
            lambda r: f"{r.result.connections_opened:,}, {r.result.peak_busy}",
        ),
        row(
            "client CPU",
            lambda r: f"{r.result.client_cpu_s / r.result.elapsed:.2f} cores",
        ),
        row("RSS before / after (MB)", lambda r: f"{r.rss_before_mb:,.0f} / {r.after.rss_mb:,.0f}"),
        row("afterwards", lambda r: r.after.text()),
    ]
    return "\n".join(lines)


def _calls(calls: dict[str, float]) -> str:
    """Mean rows per model call and mean time per call (model and preprocessing)."""
    n = calls.get("calls", 0.0)
    if not n:
        return "-"
    return (
        f"{calls.get('rows', 0.0) / n:,.1f} rows, {1000 * calls.get('compute_s', 0.0) / n:,.1f} "
        f"ms ({n:,.0f} calls)"
    )


def _calls_delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def _connects(r: ForecastRun) -> list[float]:
    return [x.connect for x in r.result.records if x.connect is not None]


def _lat(records: Sequence[Record]) -> list[float]:
    return [r.latency for r in records]


@dataclass
class StreamRun:
    limit: int  # SEQSERVE_MAX_STREAMS
    in_flight: int | None  # SEQSERVE_MAX_IN_FLIGHT: admission counts a stream until it ends
    clients: int
    seconds: float
    tokens: int
    records: list[Record] = field(default_factory=list)
    elapsed: float = 0.0
    server_statuses: str = ""
    after: After | None = None
    probe: list[float] = field(default_factory=list)
    steps_over_limit: str = "-"  # engine steps with more streams than the limit (/metrics)

    def accepted(self) -> list[Record]:
        return [r for r in self.records if r.answer is not None and r.answer.status == 200]

    def peak_concurrent(self) -> int:
        """Most accepted streams open at once, as clients saw them (headers to last byte)."""
        events: list[tuple[float, int]] = []
        for r in self.accepted():
            assert r.sent is not None and r.answer is not None
            events += [(r.sent + r.answer.head_s, 1), (r.done, -1)]
        peak = current = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak


def stream_table(s: StreamRun) -> str:
    accepted = s.accepted()
    shed = [r for r in s.records if _shed(r.answer)]
    other = [r for r in s.records if _other(r.answer)]
    errors = [r for r in s.records if r.answer is None]
    finished = [r for r in accepted if r.answer is not None and r.answer.note == "done"]
    burst = [r for r in s.records if r.scheduled == 0.0]
    burst_ok = sum(1 for r in burst if r.answer is not None and r.answer.status == 200)
    first = [r.answer.first_token_s for r in accepted if r.answer and r.answer.first_token_s]
    chars = sum(r.answer.chars for r in accepted if r.answer is not None)
    rows = [
        ("SEQSERVE_MAX_STREAMS", str(s.limit)),
        ("SEQSERVE_MAX_IN_FLIGHT (per model)", "-" if s.in_flight is None else str(s.in_flight)),
        ("clients at once", f"{s.clients} for {s.seconds:g} s, {s.tokens} characters a stream"),
        ("first burst: accepted / shed", f"{burst_ok} / {len(burst) - burst_ok}"),
        ("attempts", f"{len(s.records):,}"),
        ("**accepted (200), finished with `done`**", f"**{len(accepted):,}**, {len(finished):,}"),
        ("**shed (503 overloaded)**", f"**{len(shed):,}** ({len(shed) / s.elapsed:,.0f}/s)"),
        ("other HTTP answers (must be 0)", f"{len(other):,}"),
        ("connection errors / timeouts", f"{len(errors):,}"),
        (
            "503 latency p50 / p99 (ms)",
            f"{_ms(_lat(shed), 0.5)} / {_ms(_lat(shed), 0.99)}",
        ),
        ("Retry-After on 503", _retry_after(s.records)),
        ("accepted: first token p50 / p99 (ms)", f"{_ms(first, 0.5)} / {_ms(first, 0.99)}"),
        (
            "accepted: whole stream p50 / p99 (ms)",
            f"{_ms(_lat(accepted), 0.5)} / {_ms(_lat(accepted), 0.99)}",
        ),
        ("characters streamed", f"{chars:,} ({chars / s.elapsed:,.0f}/s)"),
        ("most accepted streams open at once, as clients saw them", str(s.peak_concurrent())),
        ("engine steps over the limit (service's /metrics)", s.steps_over_limit),
        ("GET /health meanwhile, p50 / p99 (ms)", f"{_ms(s.probe, 0.5)} / {_ms(s.probe, 0.99)}"),
        ("service's own count (/metrics)", s.server_statuses),
        ("afterwards", s.after.text() if s.after else "-"),
    ]
    lines = ["| /generate, stream | |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


# --- the runs -------------------------------------------------------------------------------


def _after(server: Server) -> After:
    alive, health, ready = health_check(server)
    return After(alive, health, ready, server.rss_bytes() / 2**20)


def forecast_run(o: Options, server: Server, label: str) -> ForecastRun:
    bodies = payloads.forecast_bodies()
    url, headers = server.url + "/forecast", auth_headers()
    print(f"[{label}] capacity: {o.warmup:g} s warm-up + {o.capacity_seconds:g} s", flush=True)
    run_load(o.generator, url, bodies, o.capacity_connections, o.warmup, headers)
    cpu, calls_before = server.cpu_seconds(), model_calls(server, "forecast")
    capacity = run_load(
        o.generator, url, bodies, o.capacity_connections, o.capacity_seconds, headers
    )
    capacity = replace(capacity, server_cpu_s=server.cpu_seconds() - cpu)
    calls_at_capacity = _calls_delta(model_calls(server, "forecast"), calls_before)
    rate = o.factor * capacity.rps
    print(
        f"[{label}] capacity {capacity.rps:,.0f} req/s (p99 {capacity.p99_ms:.0f} ms, "
        f"{capacity.errors} errors); offering {rate:,.0f} req/s open loop for {o.seconds:g} s",
        flush=True,
    )
    jobs = [post("/forecast", body) for body in bodies]
    rss_before = server.rss_bytes() / 2**20
    before, cpu = server_counts(server), server.cpu_seconds()
    calls_before = model_calls(server, "forecast")
    load = open_loop(
        HOST,
        server.port,
        rate,
        o.seconds,
        lambda i: ("forecast", jobs[i % len(jobs)]),
        connections=o.connections,
        max_wait=o.max_wait,
        timeout=o.timeout,
        headers=headers,
    )
    result, probe = run(probed(load, HOST, server.port))
    server_cpu = server.cpu_seconds() - cpu
    after = _after(server)
    delta = _delta(server_counts(server), before)
    calls = _calls_delta(model_calls(server, "forecast"), calls_before)
    found = ForecastRun(
        label,
        capacity,
        rate,
        result,
        server_cpu,
        delta,
        rss_before,
        after,
        probe,
        calls_at_capacity,
        calls,
    )
    print(
        f"[{label}] served {len(found.served):,}, shed {len(found.shed):,}, other "
        f"{len(found.other):,}; 200 p99 {_ms(_lat(found.served), 0.99)} ms, 503 p99 "
        f"{_ms(_lat(found.shed), 0.99)} ms; {after.text()}",
        flush=True,
    )
    return found


async def _stream_clients(
    port: int, body: bytes, clients: int, seconds: float, pause: float, timeout: float
) -> tuple[list[Record], float]:
    """`clients` connections each start a stream, again and again, for `seconds`; the first
    round starts at one instant (scheduled 0). Records are timed from the first round's start."""
    job: Job = stream(body)
    records: list[Record] = []
    connections = [Connection(HOST, port, auth_headers()) for _ in range(clients)]
    await asyncio.gather(*(c.__aenter__() for c in connections))
    start = time.perf_counter()
    deadline = start + seconds

    async def client(connection: Connection | None) -> None:
        first = True
        while time.perf_counter() < deadline:
            sent = time.perf_counter() - start
            try:
                if connection is None:
                    connection = Connection(HOST, port, auth_headers())
                    await connection.__aenter__()
                    sent = time.perf_counter() - start
                answer = await asyncio.wait_for(job(connection), timeout)
                error = ""
            except TimeoutError:
                answer, error = None, "unanswered"
            except CONNECTION_ERRORS:
                answer, error = None, "connection"
            done = time.perf_counter() - start
            records.append(Record("generate", 0.0 if first else sent, sent, done, answer, error))
            first = False
            if answer is None or not answer.keep:
                if connection is not None:
                    await connection.close()
                connection = None
            if answer is None or answer.status != 200:
                await asyncio.sleep(pause)
        if connection is not None:
            await connection.close()

    await asyncio.gather(*(client(c) for c in connections))
    return records, time.perf_counter() - start


def stream_run(o: Options, server: Server, limit: int, in_flight: int | None) -> StreamRun:
    clients = o.stream_factor * limit
    print(f"[generate] {clients} stream clients (limit {limit}) for {o.stream_seconds:g} s")
    body = payloads.generate_body(o.stream_tokens)
    before, rows_before = server_counts(server), batch_rows(server, "generate")
    load = _stream_clients(server.port, body, clients, o.stream_seconds, o.retry_pause, o.timeout)
    (records, elapsed), probe = run(probed(load, HOST, server.port))
    found = StreamRun(
        limit, in_flight, clients, o.stream_seconds, o.stream_tokens, records, elapsed
    )
    found.probe, found.after = probe, _after(server)
    rows = batch_rows(server, "generate")
    bounds = sorted(b for b in rows if b >= limit)
    if bounds:  # calls with more rows than the smallest bucket bound at or above the limit
        edge, everything = bounds[0], max(rows)
        steps = rows[everything] - rows_before.get(everything, 0.0)
        over = steps - (rows[edge] - rows_before.get(edge, 0.0))
        found.steps_over_limit = f"{over:,.0f} of {steps:,.0f} steps had more than {edge:g}"
    found.server_statuses = _statuses(_delta(server_counts(server), before))
    accepted = len(found.accepted())
    print(f"[generate] {accepted:,} accepted of {len(records):,}; {found.after.text()}")
    return found


# --- report ---------------------------------------------------------------------------------


def run_notes(o: Options, runs: Sequence[ForecastRun], s: StreamRun | None) -> list[str]:
    """What the numbers imply, in words, so the report reads on its own."""
    notes = []
    for r in runs:
        unsent = r.result.count(lambda x: x.error == "unsent")
        answered = [x.latency for x in r.result.records if x.answer is not None]
        if unsent and answered:
            mean = sum(answered) / len(answered)
            notes.append(
                f"{r.label}: {unsent:,} of {len(r.result.records):,} requests never got one of "
                f"the {o.connections} connections within {o.max_wait:g} s, because every one was "
                f"waiting on the service: at the measured mean answer time of {mean * 1000:,.0f} "
                f"ms a pool of {o.connections} carries at most {o.connections / mean:,.0f} req/s "
                f"(Little's law), against {r.rate:,.0f} offered. Answering every request in "
                f"{mean * 1000:,.0f} ms on average, 503s included, is the service's doing, not "
                "the client's."
            )
        per_503, per_200 = r.cpu_per_503_ms(), r.capacity.cpu_ms_per_request
        if per_503 is not None and per_200:
            notes.append(
                f"{r.label}: a 503 cost the service about {per_503:.2f} ms of CPU against "
                f"{per_200:.2f} ms for a 200 at capacity ({per_503 / per_200:.0%}); "
                f"{_by_status(r.server_delta, '503') / r.result.elapsed:,.0f} of them a second "
                f"kept the server at {r.server_cpu_s / r.result.elapsed:.2f} cores."
            )
        calls, base = r.calls.get("calls", 0.0), r.calls_at_capacity.get("calls", 0.0)
        if calls and base:
            during = 1000 * r.calls.get("compute_s", 0.0) / calls
            before = 1000 * r.calls_at_capacity.get("compute_s", 0.0) / base
            if during > 3 * before:
                notes.append(
                    f"{r.label}: a model call took {during:,.1f} ms during the run against "
                    f"{before:,.1f} ms at capacity (the service's own batch timing), while a GET "
                    f"/health waited {_ms(r.probe, 0.5)} ms (p50) for the event loop. The "
                    "batcher times a call on the event loop, from handing it to the batch thread "
                    "until the loop resumes after it, and starts the next call only then: under "
                    "overload each call also waits out the loop's lag while the model thread "
                    "idles, which is what caps the 200s."
                )
    if s is not None and s.in_flight is not None and s.in_flight < s.limit:
        notes.append(
            f"generate: SEQSERVE_MAX_IN_FLIGHT={s.in_flight} per model is below "
            f"SEQSERVE_MAX_STREAMS={s.limit}, and admission counts a stream until its last byte: "
            f"at most {s.in_flight} generations run at once, the stream limit is never reached "
            f"and the 503s come from admission control (most open at once here: "
            f"{s.peak_concurrent()})."
        )
    if s is not None and s.peak_concurrent() > s.limit:
        notes.append(
            f"generate: clients saw up to {s.peak_concurrent()} accepted streams open at once "
            f"against a limit of {s.limit}: the engine frees a stream's slot when it makes the "
            "last token, a moment before that stream's client has read its end."
        )
    return notes


def checks(o: Options, runs: Sequence[ForecastRun], s: StreamRun | None) -> list[str]:
    lines = ["| check | result | |", "|---|---|---|"]

    def add(name: str, measured: str, passed: bool) -> None:
        lines.append(f"| {name} | {measured} | {'pass' if passed else '**FAIL**'} |")

    for r in runs:
        shed_p99 = percentile(_lat(r.shed), 0.99) * 1000
        served_p99 = percentile(_lat(r.served), 0.99) * 1000
        add(f"{r.label}: sheds load", f"{len(r.shed):,} x 503 overloaded", bool(r.shed))
        add(f"{r.label}: no other HTTP answer", f"{len(r.other):,}", not r.other)
        missing = sum(1 for x in r.shed if x.answer is not None and x.answer.retry_after is None)
        add(f"{r.label}: Retry-After on every 503", f"{missing} without", not missing)
        add(
            f"{r.label}: 503 p99 < {o.fast_ms:g} ms",
            f"{shed_p99:,.1f} ms",
            shed_p99 < o.fast_ms,
        )
        add(
            f"{r.label}: accepted p99 < {o.bounded_ms:g} ms",
            f"{served_p99:,.1f} ms",
            served_p99 < o.bounded_ms,
        )
        add(f"{r.label}: alive and ready afterwards", r.after.text(), r.after.ok)
    if s is not None:
        shed = [r for r in s.records if _shed(r.answer)]
        other = [r for r in s.records if _other(r.answer)]
        p99 = percentile(_lat(shed), 0.99) * 1000
        accepted = s.accepted()
        unfinished = [r for r in accepted if r.answer is not None and r.answer.note != "done"]
        add("generate: sheds streams over the limit", f"{len(shed):,} x 503", bool(shed))
        add("generate: no other HTTP answer", f"{len(other):,}", not other)
        add("generate: 503 p99 < " + f"{o.fast_ms:g} ms", f"{p99:,.1f} ms", p99 < o.fast_ms)
        add(
            "generate: every accepted stream ends with `done`",
            f"{len(unfinished)} did not",
            not unfinished,
        )
        assert s.after is not None
        add("generate: alive and ready afterwards", s.after.text(), s.after.ok)
    return lines


def report(
    o: Options, runs: Sequence[ForecastRun], s: StreamRun | None, busy: float, notes: list[str]
) -> str:
    settings = {k: v for k, v in os.environ.items() if k.startswith("SEQSERVE_")}
    settings.pop("SEQSERVE_API_KEY", None)
    parts = [
        "## Overload",
        f"`/forecast`: capacity measured closed loop ({o.capacity_connections} connections, "
        f"{o.capacity_seconds:g} s after {o.warmup:g} s warm-up, {o.generator}); then "
        f"**{o.factor:g}x that rate offered open loop** for {o.seconds:g} s (requests start on "
        f"schedule whatever the answers; at most {o.connections} connections; a request that "
        f"finds them all busy for {o.max_wait:g} s is given up unsent; one sent and not "
        f"answered within {o.timeout:g} s is given up unanswered). Bodies: 336 values, horizon "
        "48. Rates are over the run until its last answer; latencies from when a request was "
        "sent. Each column is a fresh service process (`python -m app`).",
        "",
        forecast_table(runs, o.max_wait),
        "",
    ]
    if s is not None:
        parts += [
            f"`/generate` streams: {s.clients} clients ({o.stream_factor}x the stream limit) "
            f"each start a stream, and again as soon as it ended ({o.retry_pause * 1000:g} ms "
            "after a 503, not waiting the Retry-After), for "
            f"{o.stream_seconds:g} s; same service process as the first column.",
            "",
            stream_table(s),
            "",
        ]
    parts += ["### Checks", *checks(o, runs, s), ""]
    if notes:
        parts += ["### Notes", *(f"- {note}" for note in notes), ""]
    parts += ["### Machine", machine(o.generator, busy, settings)]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    o = parse(argv)
    check_models(o.models_dir)
    stop_on_sigterm()
    busy = cpu_busy()
    print(f"other work keeps the CPUs {busy:.0%} busy; load average {os.getloadavg()[0]:.2f}")
    configured = Settings()
    runs: list[ForecastRun] = []
    streams: StreamRun | None = None
    notes: list[str] = []
    todo = list(o.variants)
    try:
        while todo:
            overrides = todo.pop(0)
            label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "service settings"
            name = f"overload-{len(runs)}" if overrides else "overload"  # its log file
            with running_service(o.models_dir, name, overrides) as server:
                runs.append(forecast_run(o, server, label))
                if not overrides:
                    # Admission control (when the service has it) also counts streams.
                    in_flight = getattr(configured, "max_in_flight", None)
                    streams = stream_run(o, server, configured.max_streams, in_flight)
            rows = int(overrides.get("SEQSERVE_BATCH_MAX_QUEUE_ROWS", 0))
            lowered = o.lowered_queue_rows
            if not runs[-1].shed and lowered and rows != lowered:
                notes.append(
                    f"'{label}' shed nothing: the client could not fill the model's queue, so the "
                    f"run was repeated with SEQSERVE_BATCH_MAX_QUEUE_ROWS={lowered}."
                )
                todo.append({**overrides, "SEQSERVE_BATCH_MAX_QUEUE_ROWS": str(lowered)})
    except KeyboardInterrupt:
        print("\ninterrupted: every server started has been stopped", file=sys.stderr)
        return 130
    text = report(o, runs, streams, busy, notes + run_notes(o, runs, streams))
    print("\n" + text)
    o.output.parent.mkdir(parents=True, exist_ok=True)
    o.output.write_text(text, encoding="utf-8")
    print(f"written to {o.output}")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
