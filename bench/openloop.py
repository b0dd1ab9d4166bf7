"""Open-loop load: requests start on a fixed schedule (a constant arrival rate) whatever the
service answers, from a bounded pool of keep-alive connections.

A closed-loop client (wrk, bench/load.py) slows down with the server, so it can never offer more
than the server serves; this one keeps offering the same rate, as independent users would. Each
request is timed twice: from when it was sent, and from when it was scheduled, so time spent
waiting for a free connection counts too (no coordinated omission). A request that finds every
connection busy for `max_wait` seconds is given up unsent ("unsent": the pool is full, as a user
who cannot even get through would give up); one sent that gets no answer within `timeout` is
given up too ("unanswered").

Jobs are small coroutines that use one connection: `post()` for a JSON request, `stream()` for a
server-sent-event generation (optionally dropping the connection after some characters).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bench.client import Connection, Head
from bench.streams import parse_event

T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    status: int
    kind: str = ""  # the error body's "type" ("overloaded", "validation_error", ...)
    retry_after: str | None = None
    keep: bool = True  # the connection can carry another request
    head_s: float = 0.0  # send to the status line and headers
    first_token_s: float | None = None  # streams: send to the first `token` event
    chars: int = 0  # streams: characters received
    note: str = ""  # streams: "done", "no done event" or "disconnected" (on purpose)


Job = Callable[[Connection], Awaitable[Answer]]


@dataclass(frozen=True)
class Record:
    label: str
    scheduled: float  # seconds from the start of the run
    sent: float | None  # None: never got a connection
    done: float
    answer: Answer | None  # None: no answer (see `error`)
    error: str = ""  # "connection" (refused, reset, closed), "unsent" or "unanswered"

    @property
    def latency(self) -> float:
        """Send to the end of the answer."""
        return self.done - (self.sent if self.sent is not None else self.scheduled)

    @property
    def from_schedule(self) -> float:
        """Scheduled start to the end of the answer: what a user arriving then would wait."""
        return self.done - self.scheduled


@dataclass
class OpenLoopResult:
    rate: float  # target arrival rate, requests per second
    seconds: float  # length of the schedule
    records: list[Record]
    elapsed: float = 0.0  # start to the last answer
    dispatched_in: float = 0.0  # start to the last request handed to a connection slot
    connections_opened: int = 0
    peak_busy: int = 0  # most connections in use at once
    client_cpu_s: float = 0.0  # CPU this (client) process used meanwhile

    @property
    def offered_rps(self) -> float:
        """Requests started per second of schedule actually achieved by this client."""
        return len(self.records) / self.dispatched_in if self.dispatched_in else 0.0

    def count(self, predicate: Callable[[Record], bool]) -> int:
        return sum(1 for r in self.records if predicate(r))


@dataclass
class Pool:
    """At most `size` connections; idle ones are reused, newest first."""

    host: str
    port: int
    headers: dict[str, str]
    size: int
    opened: int = 0
    busy: int = 0
    peak_busy: int = 0
    _idle: list[Connection] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    async def acquire(self) -> Connection:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        await self._slots.acquire()
        self.busy += 1
        self.peak_busy = max(self.peak_busy, self.busy)
        if self._idle:
            return self._idle.pop()
        connection = Connection(self.host, self.port, self.headers)
        try:
            await connection.__aenter__()
        except BaseException:
            self._free()
            raise
        self.opened += 1
        return connection

    async def release(self, connection: Connection, keep: bool) -> None:
        self._free()
        if keep:
            self._idle.append(connection)
        else:
            await connection.close()

    def _free(self) -> None:
        assert self._slots is not None
        self.busy -= 1
        self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


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
) -> OpenLoopResult:
    """Start request i at `i / rate` seconds for `seconds`; `pick(i)` says what it is."""
    # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds.
    clock = time.perf_counter
    loop = asyncio.get_running_loop()
    pool = Pool(host, port, headers or {}, connections)
    result = OpenLoopResult(rate, seconds, [])
    cpu_before = time.process_time()
    start = clock() + 0.05
    tasks: set[asyncio.Task[None]] = set()

    async def one(label: str, job: Job, scheduled: float) -> None:
        sent: float | None = None
        connection: Connection | None = None
        answer: Answer | None = None
        error = ""
        try:
            async with asyncio.timeout(start + scheduled + max_wait - clock()):
                connection = await pool.acquire()
            sent = clock() - start
            async with asyncio.timeout(timeout):
                answer = await job(connection)
            await pool.release(connection, answer.keep)
            connection = None
        except TimeoutError:
            error = "unanswered" if sent is not None else "unsent"
        except CONNECTION_ERRORS:
            error = "connection"
        finally:
            if connection is not None:
                await pool.release(connection, keep=False)
        result.records.append(Record(label, scheduled, sent, clock() - start, answer, error))

    total = round(rate * seconds)
    for i in range(total):
        scheduled = i / rate
        delay = start + scheduled - clock()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        elif i % 32 == 0:
            await asyncio.sleep(0)  # behind schedule: still let answers in now and then
        label, job = pick(i)
        task = loop.create_task(one(label, job, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    result.dispatched_in = max(clock() - start, seconds)
    while tasks:
        await asyncio.gather(*tasks)
    await pool.close()
    result.elapsed = max((r.done for r in result.records), default=0.0)
    result.connections_opened, result.peak_busy = pool.opened, pool.peak_busy
    result.client_cpu_s = time.process_time() - cpu_before
    return result


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed (it comes with uvicorn[standard]): the load
    generator shares the machine with the server, so its CPU per request matters."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def read_answer(connection: Connection, head: Head, head_s: float) -> Answer:
    """Read the rest of a (short, not streamed) response into an Answer."""
    body = b"".join([chunk async for chunk in connection.body_chunks(head)])
    kind = ""
    if head.status >= 400:
        with contextlib.suppress(ValueError, AttributeError):
            kind = str(json.loads(body).get("type", ""))
    return Answer(
        head.status,
        kind,
        head.headers.get("retry-after"),
        keep=head.headers.get("connection", "").lower() != "close",
        head_s=head_s,
    )


def post(
    path: str, body: bytes, content_type: str = "application/json", method: str = "POST"
) -> Job:
    async def job(connection: Connection) -> Answer:
        sent = time.perf_counter()
        head = await connection.send(method, path, body, content_type)
        return await read_answer(connection, head, time.perf_counter() - sent)

    return job


def stream(body: bytes, disconnect_after: int | None = None) -> Job:
    """POST /generate with `"stream": true` in `body`; read the events to `done`, or drop the
    connection once `disconnect_after` characters have arrived (a client that goes away)."""

    async def job(connection: Connection) -> Answer:
        sent = time.perf_counter()
        head = await connection.send("POST", "/generate", body)
        head_s = time.perf_counter() - sent
        if head.status != 200:
            return await read_answer(connection, head, head_s)
        first: float | None = None
        chars, done, buffer = 0, False, b""
        async with contextlib.aclosing(connection.body_chunks(head)) as chunks:
            async for chunk in chunks:
                buffer += chunk
                *events, buffer = buffer.split(b"\n\n")
                for event in events:
                    name, data = parse_event(event)
                    if name == "token":
                        first = first if first is not None else time.perf_counter() - sent
                        chars += len(json.loads(data)["text"])
                        if disconnect_after is not None and chars >= disconnect_after:
                            return Answer(
                                200,
                                keep=False,
                                head_s=head_s,
                                first_token_s=first,
                                chars=chars,
                                note="disconnected",
                            )
                    elif name == "done":
                        done = True
        note = "done" if done else "no done event"
        return Answer(200, head_s=head_s, first_token_s=first, chars=chars, note=note)

    return job


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of unsorted `values`; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
