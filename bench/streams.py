"""Streaming generation benchmark: characters per second and time to the first streamed token.

A stream is timed from just before its request is sent (the connection is already open) to its
`event: done`; the first-token time is when the first `event: token` arrives. Concurrent streams
start together and their throughput is all characters over the wall time of the slowest.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

from bench.client import Connection
from bench.jobs import stream


@dataclass(frozen=True)
class GenerationResult:
    single_chars_per_s: float  # median over the single-stream runs
    single_first_token_ms: float  # median over the same runs
    concurrent: int
    concurrent_chars_per_s: float  # all streams' characters / wall time
    concurrent_first_token_ms: float  # the slowest stream's first token

    @property
    def ratio(self) -> float:
        return self.concurrent_chars_per_s / self.single_chars_per_s


async def _streams(
    host: str, port: int, body: bytes, count: int, headers: dict[str, str], timeout: float
) -> tuple[float, int, float]:
    """Run `count` streams at once: wall seconds, all characters, the slowest first token."""
    connections = [Connection(host, port, headers) for _ in range(count)]
    for connection in connections:
        await connection.__aenter__()
    try:
        started = time.perf_counter()
        runs = [stream(body)(c) for c in connections]
        answers = await asyncio.wait_for(asyncio.gather(*runs), timeout)
        wall = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    for answer in answers:
        if answer.status != 200:
            raise RuntimeError(f"/generate answered {answer.status}")
        if answer.first_token_s is None:
            raise RuntimeError("/generate streamed no token")
        if answer.note != "done":
            raise RuntimeError("a /generate stream ended without its `done` event")
    firsts = [a.first_token_s for a in answers if a.first_token_s is not None]
    return wall, sum(a.chars for a in answers), max(firsts)


def run_generation(
    host: str,
    port: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    runs: int = 3,
    concurrent: int = 8,
    timeout: float = 120,
) -> GenerationResult:
    """One stream `runs` times (after a warm-up), then `concurrent` streams at once."""
    h = headers or {}
    asyncio.run(_streams(host, port, body, 1, h, timeout))  # warm-up
    singles = [asyncio.run(_streams(host, port, body, 1, h, timeout)) for _ in range(runs)]
    wall, characters, first = asyncio.run(_streams(host, port, body, concurrent, h, timeout))
    return GenerationResult(
        single_chars_per_s=statistics.median(chars / secs for secs, chars, _ in singles),
        single_first_token_ms=statistics.median(first for _, _, first in singles) * 1000,
        concurrent=concurrent,
        concurrent_chars_per_s=characters / wall,
        concurrent_first_token_ms=first * 1000,
    )
