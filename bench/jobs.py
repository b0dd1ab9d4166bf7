"""What one request on one connection is, for every load generator here that reads answers:
`post()` for a JSON request, `stream()` for a server-sent-event generation (optionally dropping
the connection after some characters). Each is a small coroutine that returns an Answer; a
Record says when it was scheduled, sent and answered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.client import Connection, Head

# What a client sees when the server refuses, resets or closes a connection, or answers garbage.
CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError)


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
    error: str = ""  # "connection" (refused, reset, closed), "unsent", "unanswered", ...
    connect: float | None = None  # seconds to open a new connection first; None: reused one

    @property
    def latency(self) -> float:
        """Send to the end of the answer."""
        return self.done - (self.sent if self.sent is not None else self.scheduled)

    @property
    def from_schedule(self) -> float:
        """Scheduled start to the end of the answer: what a user arriving then would wait."""
        return self.done - self.scheduled


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


def parse_event(raw: bytes) -> tuple[str, str]:
    """One server-sent event: its name ("message" when unnamed) and its data lines joined."""
    name, data = "message", []
    for line in raw.decode("utf-8").splitlines():
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return name, "\n".join(data)
