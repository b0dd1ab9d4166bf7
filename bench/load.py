"""Closed-loop HTTP load: N connections each sending the next request as soon as one returns.

wrk does the work when it is installed (C, one thread: little CPU taken from the server on a
small machine); otherwise `closed_loop()`, on bench/client.py, does the same, less efficiently.
Both return a LoadResult with throughput, latency percentiles and errors (non-2xx included).
`closed_loop()` also runs any other job in a loop (the overload's stream clients).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bench.client import Connection
from bench.jobs import CONNECTION_ERRORS, Job, Record, post
from bench.procs import HOST, Server

LUA_SCRIPT = Path(__file__).with_name("post.lua")
Generator = Literal["wrk", "python"]


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # failed connections, timeouts and non-2xx answers
    server_cpu_s: float | None = None  # CPU the server used meanwhile, when it was measured

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        """Server CPU per request: steadier than req/s when other work shares the machine."""
        if self.server_cpu_s is None or not self.requests:
            return None
        return 1000 * self.server_cpu_s / self.requests


def pick_generator(preferred: str) -> Generator:
    """ "wrk" when asked for or (for "auto") installed, else "python"."""
    if preferred == "wrk" and shutil.which("wrk") is None:
        raise SystemExit("--load-generator wrk: wrk is not installed (apt-get install wrk)")
    if preferred == "python" or shutil.which("wrk") is None:
        return "python"
    return "wrk"


def measure(
    generator: Generator,
    server: Server,
    path: str,
    bodies: Sequence[bytes],
    connections: int,
    seconds: float,
    warmup: float,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """`warmup` seconds of load (if any), then `seconds` measured, with the server's CPU."""
    url = server.url + path
    if warmup > 0:
        run_load(generator, url, bodies, connections, warmup, headers)
    cpu_before = server.cpu_seconds()
    result = run_load(generator, url, bodies, connections, seconds, headers)
    return replace(result, server_cpu_s=server.cpu_seconds() - cpu_before)


def run_load(
    generator: Generator,
    url: str,
    bodies: Sequence[bytes],
    connections: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> LoadResult:
    """POST `bodies` (in turn) to `url` from `connections` connections for `seconds`."""
    headers = headers or {}
    if generator == "wrk":
        return _run_wrk(url, bodies, connections, seconds, headers, timeout)
    return asyncio.run(_run_python(url, bodies, connections, seconds, headers, timeout))


def _run_wrk(
    url: str,
    bodies: Sequence[bytes],
    connections: int,
    seconds: float,
    headers: dict[str, str],
    timeout: float,
) -> LoadResult:
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", prefix="bench-") as handle:
        handle.write(b"\n".join(bodies) + b"\n")
        handle.flush()
        command = [
            "wrk",
            "--threads=1",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout))}s",
            f"--script={LUA_SCRIPT}",
            url,
            "--",
            handle.name,
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + timeout + 30, check=False
        )
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH_JSON ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    stats = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    errors = sum(stats[k] for k in ("connect", "read", "write", "status", "timeout"))
    return LoadResult(
        requests=stats["requests"],
        seconds=stats["duration_us"] / 1e6,
        p50_ms=stats["p50_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        errors=errors,
    )


async def _run_python(
    url: str,
    bodies: Sequence[bytes],
    connections: int,
    seconds: float,
    headers: dict[str, str],
    timeout: float,
) -> LoadResult:
    where = urlsplit(url)
    jobs = [post(where.path, body) for body in bodies]
    records, elapsed = await closed_loop(
        where.hostname or HOST, where.port or 80, lambda i: jobs[i % len(jobs)], connections,
        seconds, timeout=timeout, headers=headers,
    )  # fmt: skip
    latencies = [r.latency for r in records if r.answer is not None]
    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        errors=sum(r.answer is None or not 200 <= r.answer.status < 300 for r in records),
    )


async def closed_loop(
    host: str,
    port: int,
    pick: Callable[[int], Job],
    clients: int,
    seconds: float,
    *,
    timeout: float,
    headers: dict[str, str],
    pause: float = 0.0,
    label: str = "",
) -> tuple[list[Record], float]:
    """`clients` connections, each sending its next request (`pick(i)`) as soon as the last one
    was answered, `pause` seconds later when that was not a 200, for `seconds`. Every connection
    is opened first, so the first round starts at one instant (scheduled 0); a connection that
    fails is opened again. Records are timed from the start; also the run's length."""
    records: list[Record] = []
    connections = [Connection(host, port, headers) for _ in range(clients)]
    await asyncio.gather(*(c.__aenter__() for c in connections))
    start = time.perf_counter()
    deadline = start + seconds

    async def client(index: int, connection: Connection | None) -> None:
        for n in itertools.count():
            if time.perf_counter() >= deadline:
                break
            sent, answer, error = time.perf_counter() - start, None, ""
            try:
                if connection is None:
                    connection = Connection(host, port, headers)
                    await connection.__aenter__()
                    sent = time.perf_counter() - start
                answer = await asyncio.wait_for(pick(index + n * clients)(connection), timeout)
            except TimeoutError:
                error = "unanswered"
            except CONNECTION_ERRORS:
                error = "connection"
            done = time.perf_counter() - start
            records.append(Record(label, sent if n else 0.0, sent, done, answer, error))
            if (answer is None or not answer.keep) and connection is not None:
                await connection.close()
                connection = None
            if pause and (answer is None or answer.status != 200):
                await asyncio.sleep(pause)
        if connection is not None:
            await connection.close()

    await asyncio.gather(*(client(i, c) for i, c in enumerate(connections)))
    return records, time.perf_counter() - start


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
