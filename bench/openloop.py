"""Open-loop load: requests start on a fixed schedule (a constant arrival rate) whatever the
service answers, from a bounded pool of keep-alive connections.

A closed-loop client (wrk, bench/load.py) slows down with the server, so it can never offer more
than the server serves; this one keeps offering the same rate, as independent users would. Each
request is timed twice: from when it was sent, and from when it was scheduled, so time spent
waiting for a free connection counts too (no coordinated omission). A request that finds every
connection busy for `max_wait` seconds is given up unsent ("unsent": the pool is full, as a user
who cannot even get through would give up); one sent that gets no answer within `timeout` is
given up too ("unanswered").

What each request is comes from `pick(i)`: a label and a job of bench/jobs.py.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.client import Connection
from bench.jobs import CONNECTION_ERRORS, Answer, Job, Record


@dataclass
class OpenLoopResult:
    rate: float  # target arrival rate, requests per second
    seconds: float  # length of the schedule
    records: list[Record]
    elapsed: float = 0.0  # start to the last answer
    connections_opened: int = 0
    peak_busy: int = 0  # most connections in use at once
    client_cpu_s: float = 0.0  # CPU this (client) process used meanwhile


@dataclass
class _Pool:
    """At most `size` requests on the wire, each on its own connection; idle connections are
    reused, newest first. Requests that find every slot taken wait in order of arrival, as
    plain entries (no task, no timer: under heavy overload tens of thousands may wait), and
    take the next slot that frees up unless they have waited longer than `max_wait`."""

    size: int
    max_wait: float
    busy: int = 0
    peak_busy: int = 0
    opened: int = 0
    idle: list[Connection] = field(default_factory=list)
    waiting: deque[tuple[str, Job, float]] = field(default_factory=deque)

    def take(self) -> None:
        self.busy += 1
        self.peak_busy = max(self.peak_busy, self.busy)

    def expired(self, now: float) -> list[tuple[str, Job, float]]:
        """Remove and return the waiting requests scheduled more than max_wait before `now`."""
        gone = []
        while self.waiting and now - self.waiting[0][2] > self.max_wait:
            gone.append(self.waiting.popleft())
        return gone


async def open_loop(
    host: str,
    port: int,
    rate: float,
    seconds: float,
    pick: Callable[[int], tuple[str, Job]],
    *,
    connections: int = 512,
    max_wait: float = 1.0,
    timeout: float = 10.0,
    headers: dict[str, str] | None = None,
    records: list[Record] | None = None,
) -> OpenLoopResult:
    """Start request i at `i / rate` seconds for `seconds`; `pick(i)` says what it is.

    Records are appended to `records` when given (a caller can watch them grow), else to a
    new list; either way they end up in the result."""
    # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds.
    clock = time.perf_counter
    loop = asyncio.get_running_loop()
    pool = _Pool(connections, max_wait)
    result = OpenLoopResult(rate, seconds, records if records is not None else [])
    cpu_before = time.process_time()
    start = clock() + 0.05
    tasks: set[asyncio.Task[None]] = set()

    def give_up_expired() -> None:
        now = clock() - start
        for label, _, scheduled in pool.expired(now):
            result.records.append(Record(label, scheduled, None, now, None, "unsent"))

    def launch(label: str, job: Job, scheduled: float) -> None:
        pool.take()
        task = loop.create_task(one(label, job, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def slot_freed() -> None:
        pool.busy -= 1
        give_up_expired()
        if pool.waiting:
            launch(*pool.waiting.popleft())

    async def one(label: str, job: Job, scheduled: float) -> None:
        sent = clock() - start  # connecting, when needed, counts as part of the answer time
        connection: Connection | None = None
        answer: Answer | None = None
        error = ""
        connect: float | None = None
        try:
            async with asyncio.timeout(timeout):
                if pool.idle:
                    connection = pool.idle.pop()
                else:
                    connection = Connection(host, port, headers or {})
                    await connection.__aenter__()
                    connect = clock() - start - sent
                    pool.opened += 1
                answer = await job(connection)
        except TimeoutError:
            error = "unanswered"
        except CONNECTION_ERRORS:
            error = "connection"
        except Exception as exc:  # an answer this client could not make sense of
            error = f"unreadable answer ({type(exc).__name__})"
        done = clock() - start
        result.records.append(Record(label, scheduled, sent, done, answer, error, connect))
        try:
            if connection is not None:
                if answer is not None and answer.keep:
                    pool.idle.append(connection)
                else:
                    await connection.close()
        finally:
            slot_freed()

    total = round(rate * seconds)
    for i in range(total):
        scheduled = i / rate
        delay = start + scheduled - clock()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        elif i % 32 == 0:
            await asyncio.sleep(0)  # behind schedule: still let answers in now and then
        label, job = pick(i)
        if pool.busy < pool.size:
            launch(label, job, scheduled)
        else:
            pool.waiting.append((label, job, scheduled))
            if i % 32 == 0:
                give_up_expired()
    while tasks or pool.waiting:
        give_up_expired()
        await asyncio.sleep(0.01)
    for connection in pool.idle:
        await connection.close()
    result.elapsed = max((r.done for r in result.records), default=0.0)
    result.connections_opened, result.peak_busy = pool.opened, pool.peak_busy
    result.client_cpu_s = time.process_time() - cpu_before
    return result
