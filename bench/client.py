"""A minimal keep-alive HTTP/1.1 client on asyncio streams, for loopback benchmarking only.

Lighter than a general client (the load generator shares two cores with the server), and it
hands out the body of a chunked response chunk by chunk, which the streaming benchmark needs to
time the first server-sent event. `run()` drives such clients on uvloop when it is there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

_HEADER_END = b"\r\n\r\n"
T = TypeVar("T")


@dataclass(frozen=True)
class Head:
    status: int
    headers: dict[str, str]  # lower-case names


class Connection:
    """One persistent connection; requests on it run one after the other."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self._extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Connection:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    async def send(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> Head:
        """Send one request and read the status line and headers of its response."""
        if self._reader is None or self._writer is None:
            raise RuntimeError("connection is not open")
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{self._extra}\r\n"
        )
        self._writer.write(head.encode("ascii") + body)
        raw = await self._reader.readuntil(_HEADER_END)
        status_line, *lines = raw[: -len(_HEADER_END)].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return Head(int(status_line.split()[1]), headers)

    async def body_chunks(self, head: Head) -> AsyncGenerator[bytes, None]:
        """The response body as it arrives: whole, or chunk by chunk when it is chunked."""
        assert self._reader is not None
        if head.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await self._reader.readline()).split(b";")[0], 16)
                data = await self._reader.readexactly(size + 2)  # the chunk and its CRLF
                if size == 0:
                    return
                yield data[:-2]
        else:
            length = int(head.headers.get("content-length", "0"))
            yield await self._reader.readexactly(length)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """Status and whole body of one request."""
        head = await self.send(method, path, body)
        parts = [chunk async for chunk in self.body_chunks(head)]
        return head.status, b"".join(parts)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop when it is installed (it comes with uvicorn[standard]): the load
    generator shares the machine with the server, so its CPU per request matters."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)
