"""Closed-loop HTTP load: N connections each sending the next request as soon as one returns.

wrk does the work when it is installed (C, one thread: little CPU taken from the server on a
small machine); otherwise bench/closedloop.py does the same in asyncio, less efficiently. Both
return a LoadResult with throughput, latency percentiles and errors (non-2xx included).
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bench.closedloop import closed_loop
from bench.jobs import post
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


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)  # the smallest value with at least `fraction` of them at or below
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]
