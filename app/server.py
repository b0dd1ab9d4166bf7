"""The HTTP server: uvicorn on httptools, with the connection limits uvicorn itself lacks.

Before a request reaches the app, uvicorn bounds nothing: a header may grow without end (100 MB
was accepted), any number of header fields are kept, and a connection that sends its headers one
byte at a time, or nothing at all, is kept open for ever until the process runs out of file
descriptors. `GuardedHttpToolsProtocol` adds what nginx and Node.js have by default:

- request line + headers of at most `max_header_bytes`, and at most `max_headers` fields: 431;
- the headers complete within `header_timeout` of the connection opening or of the request's
  first byte: 408 (a connection that sent nothing is just closed);
- at most `max_connections` open connections, and `max_connections_per_client` from one address:
  503 and close, so the process never runs out of descriptors and one client cannot take them all.

Idle keep-alive connections close after uvicorn's `timeout_keep_alive`; the body's read timeout
is the app's (`BodyReaderMiddleware`), since only the app knows when it wants a body.
Every refusal is the service's one JSON error shape with an `X-Request-ID`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.config import Settings, get_settings
from app.errors import error_response
from app.logs import configure_logging
from app.middleware import REQUEST_ID_HEADER, new_request_id
from app.workers import prepare_shared_directory, remove_shared_directory

logger = logging.getLogger("seqserve.http")


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int
    max_headers: int
    header_timeout: float
    max_connections: int
    max_connections_per_client: int  # 0: no per-client limit

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            max_headers=settings.max_headers,
            header_timeout=settings.header_timeout_seconds,
            # Below the descriptor limit, leaving room for model files, logs and the listener.
            max_connections=min(settings.max_connections, _descriptor_limit() - 64),
            max_connections_per_client=settings.max_connections_per_client,
        )


def _descriptor_limit() -> int:
    return int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


class _Refused(Exception):
    """Raised inside a parser callback: httptools stops and uvicorn calls send_400_response."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header limits, a header timeout and connection caps."""

    limits: ClassVar[ConnectionLimits]
    open_per_client: ClassVar[Counter[str]]  # shared by every connection of one server

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client_host = ""
        self._awaiting_headers = True  # from a message's first byte (or the connection's start)
        self._message_begun = False  # a byte of the current request has arrived
        self._header_bytes = self._header_count = self._parsed_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str, str] | None = None  # status, message, error type

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._client_host = self.client[0] if self.client else ""
        self.open_per_client[self._client_host] += 1
        per_client = self.limits.max_connections_per_client
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "the server has too many open connections; retry", "overloaded")
        elif per_client and self.open_per_client[self._client_host] > per_client:
            message = f"more than {per_client} open connections from one client"
            self._refuse(503, message, "too_many_connections")
        else:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        self.open_per_client[self._client_host] -= 1
        if self.open_per_client[self._client_host] <= 0:
            del self.open_per_client[self._client_host]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Headers still arriving are counted by the read, after parsing (so the body bytes that
        # share a read with the headers are not): at most one read (256 KiB) past the limit is
        # ever buffered. Headers that arrive whole are counted as the parser hands them over.
        if self._awaiting_headers and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse(431, self._too_large_message(), "headers_too_large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = self._message_begun = True
        self._header_bytes = self._header_count = self._parsed_bytes = 0
        self._arm_header_timer()

    def on_url(self, url: bytes) -> None:
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_headers:
            limit = self.limits.max_headers
            message = f"more than {limit} header fields (SEQSERVE_MAX_HEADERS)"
            self._refusal = (431, message, "headers_too_large")
            raise _Refused
        self._count_parsed(len(name) + len(value) + 4)  # ": " and CRLF
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        self._parsed_bytes += size
        if self._parsed_bytes > self.limits.max_header_bytes:
            self._refusal = (431, self._too_large_message(), "headers_too_large")
            raise _Refused

    def _too_large_message(self) -> str:
        limit = self.limits.max_header_bytes
        return f"request line and headers exceed {limit} bytes (SEQSERVE_MAX_HEADER_BYTES)"

    def on_headers_complete(self) -> None:
        self._awaiting_headers = self._message_begun = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # uvicorn's answer to a request httptools cannot parse, or that a callback refused.
        refusal = self._refusal or (400, "malformed HTTP request", "bad_request")
        self._refuse(*refusal)

    def _refuse(self, status: int, message: str, kind: str) -> None:
        """Answer in the one error shape, log it, and close the connection."""
        request_id = new_request_id()
        body = error_response(status, message, kind).body
        head = [
            STATUS_LINE[status],
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            f"{REQUEST_ID_HEADER.lower()}: {request_id}\r\n".encode(),
            b"connection: close\r\n\r\n",
        ]
        self._cancel_header_timer()
        self.transport.write(b"".join(head) + body)
        self.transport.close()
        extra = {"request_id": request_id, "status": status, "client": self._client_host}
        logger.warning(message, extra=extra)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            timeout = self.limits.header_timeout
            self._header_timer = self.loop.call_later(timeout, self._on_header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if not self._message_begun:
            self.transport.close()  # a connection that never sent a byte: nothing to answer
            return
        timeout = self.limits.header_timeout
        message = (
            f"request headers not received within {timeout:g} s (SEQSERVE_HEADER_TIMEOUT_SECONDS)"
        )
        self._refuse(408, message, "request_timeout")


def guarded_protocol(limits: ConnectionLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class bound to these limits, with its own per-client connection counts."""
    attributes = {"limits": limits, "open_per_client": Counter()}
    return cast(
        type[GuardedHttpToolsProtocol],
        type("GuardedProtocol", (GuardedHttpToolsProtocol,), attributes),
    )


class WorkerGuardedProtocol(GuardedHttpToolsProtocol):
    """The guarded protocol in a worker process (SEQSERVE_WORKERS > 1). uvicorn pickles its
    config into each worker, and a class pickles only by a module-level name: this one takes the
    limits from the worker's own settings (the same environment) at its first connection."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = type(self)
        if "limits" not in cls.__dict__:
            cls.limits = ConnectionLimits.from_settings(get_settings())
            cls.open_per_client = Counter()
        super().__init__(*args, **kwargs)


def serve(settings: Settings) -> None:
    """Run the app under uvicorn with every limit from settings, in `settings.workers` processes
    that share the listening socket (app/workers.py)."""
    # uvicorn's own log lines (start-up, errors) in the same format as ours.
    configure_logging(settings.log_level, settings.log_format)
    if settings.workers == 1:
        _run(settings, guarded_protocol(ConnectionLimits.from_settings(settings)))
        return
    shared = prepare_shared_directory()
    try:
        _run(settings, WorkerGuardedProtocol, workers=settings.workers)
    finally:
        remove_shared_directory(shared)


def _run(settings: Settings, protocol: type[GuardedHttpToolsProtocol], workers: int = 1) -> None:
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=workers,
        # The supervisor kills a worker that does not answer its ping within this; a worker pings
        # only once its imports are done, which takes seconds on a busy machine (uvicorn's 5 s
        # restarted workers in a loop there).
        timeout_worker_healthcheck=30,
        http=protocol,
        timeout_keep_alive=settings.keep_alive_timeout_seconds,
        log_config=None,
        log_level=settings.log_level,
        access_log=False,
        # uvicorn hands this to asyncio.wait_for, which takes fractions of a second too.
        timeout_graceful_shutdown=cast(int, settings.shutdown_grace_seconds),
    )
