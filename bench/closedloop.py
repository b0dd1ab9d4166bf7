"""Closed-loop load in asyncio: each of N connections sends its next request as soon as the
last one was answered. bench/load.py runs it in place of wrk when wrk is not installed; the
overload runs its stream clients with it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

from bench.client import Connection
from bench.jobs import CONNECTION_ERRORS, Job, Record


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
    is opened first, so the first round starts at one instant (scheduled 0); one that failed
    (or could not be opened) is opened again. Records, timed from the start, and the run's
    length."""
    records: list[Record] = []
    connections = await asyncio.gather(*(_open(host, port, headers) for _ in range(clients)))
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


async def _open(host: str, port: int, headers: dict[str, str]) -> Connection | None:
    connection = Connection(host, port, headers)
    try:
        return await connection.__aenter__()
    except CONNECTION_ERRORS:
        return None  # the client opens it again, and the failure is recorded then
