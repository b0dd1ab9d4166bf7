"""Streaming generation benchmark: characters per second and time to the first streamed token.

A stream is timed from just before its request is sent (the connection is already open) to its
`event: done`; the first-token time is when the first `event: token` arrives. Concurrent streams
start together and their throughput is all characters over the wall time of the slowest.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from dataclasses import dataclass

from bench.client import Connection


@dataclass(frozen=True)
class StreamTiming:
    characters: int
    first_token_s: float
    total_s: float
    finish_reason: str | None


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


async def _one_stream(connection: Connection, body: bytes, timeout: float) -> StreamTiming:
    sent = time.perf_counter()
    first: float | None = None
    characters, finish_reason, buffer = 0, None, b""
    head = await asyncio.wait_for(connection.send("POST", "/generate", body), timeout)
    if head.status != 200:
        raise RuntimeError(f"/generate answered {head.status}")
    async for chunk in connection.body_chunks(head):
        buffer += chunk
        *events, buffer = buffer.split(b"\n\n")
        for event in events:
            name, data = parse_event(event)
            if name == "token":
                first = first or time.perf_counter()
                characters += len(json.loads(data)["text"])
            elif name == "done":
                finish_reason = json.loads(data).get("finish_reason")
    if first is None:
        raise RuntimeError("/generate streamed no token")
    return StreamTiming(characters, first - sent, time.perf_counter() - sent, finish_reason)


def parse_event(raw: bytes) -> tuple[str, str]:
    name, data = "message", []
    for line in raw.decode("utf-8").splitlines():
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return name, "\n".join(data)


async def _streams(
    host: str, port: int, body: bytes, count: int, headers: dict[str, str], timeout: float
) -> tuple[float, int, float]:
    """Run `count` streams at once: wall seconds, all characters, the slowest first token."""
    connections = [Connection(host, port, headers) for _ in range(count)]
    for connection in connections:
        await connection.__aenter__()
    try:
        started = time.perf_counter()
        runs = [_one_stream(c, body, timeout) for c in connections]
        timings = await asyncio.wait_for(asyncio.gather(*runs), timeout)
        wall = time.perf_counter() - started
    finally:
        for connection in connections:
            await connection.close()
    if any(t.finish_reason is None for t in timings):
        raise RuntimeError("a /generate stream ended without its `done` event")
    return wall, sum(t.characters for t in timings), max(t.first_token_s for t in timings)


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
