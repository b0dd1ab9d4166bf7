"""Pure ASGI middleware: request context (id, log line, metrics, last-resort 500) and body size.

Pure ASGI rather than BaseHTTPMiddleware: nothing is buffered twice, and the body limit can
answer before an oversized upload is read.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections import Counter
from collections.abc import Mapping

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import error_response, internal_error_response
from app.metrics import Metrics

logger = logging.getLogger("seqserve.http")
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed only if it is short and plain, so it cannot forge log lines.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Generated ids: a random prefix per process and a counter. Unique across replicas like a UUID,
# without a call to the OS's random source on every request (2% of CPU under load, measured).
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def _endpoint(scope: Scope) -> str:
    # The route template ("/forecast"), never the raw path: keeps metric label values bounded.
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"


def _request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.fullmatch(given) else f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status, started = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        begin = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The last resort: log the traceback here, tell the client nothing about it.
            logger.exception("unhandled error", extra={"request_id": request_id})
            if not started:
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - begin
            self.metrics.in_flight.dec()
            self.metrics.observe(_endpoint(scope), scope["method"], status, seconds)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )


class BodySizeLimitMiddleware:
    """413 for bodies over `max_bytes`, by Content-Length or by counting what actually arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await error_response(400, "invalid Content-Length header")(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        # Read the whole body first (it is small by definition), then replay it to the app.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:  # chunked uploads have no Content-Length to check
                await self._too_large(scope, receive, send)
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later calls wait for the disconnect, as usual
            replayed = True
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body exceeds {self.max_bytes} bytes (SEQSERVE_MAX_BODY_BYTES)"
        await error_response(413, message, "payload_too_large")(scope, receive, send)


class AdmissionMiddleware:
    """Admission control: at most `limit` requests in flight per model; the rest get 503 at once.

    The outermost layer, so a refusal costs almost nothing: no body read or parsed, no log line
    (thousands a second under overload would themselves eat the CPU), only a request id and a
    count in the metrics. Refusing later, at the model's queue, cost as much CPU as serving
    (0.42 ms per 503, measured at 4x capacity), so overload crowded out accepted requests.
    """

    def __init__(
        self, app: ASGIApp, limit: int, paths: Mapping[str, str], metrics: Metrics
    ) -> None:
        self.app, self.limit, self.paths, self.metrics = app, limit, paths, metrics
        self.in_flight: Counter[str] = Counter()  # paths: POST path -> model name
        # Each model's refusal, rendered once: the body never changes.
        self.refusals = {
            model: error_response(
                503,
                f"model '{model}' is overloaded ({limit} requests in flight); retry",
                "overloaded",
            ).body
            for model in set(paths.values())
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = self.paths.get(scope["path"]) if scope["type"] == "http" else None
        if model is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_flight[model] >= self.limit:
            headers = {"Retry-After": "1", REQUEST_ID_HEADER: _request_id(scope)}
            refusal = Response(self.refusals[model], 503, headers, "application/json")
            await refusal(scope, receive, send)
            self.metrics.observe(scope["path"], "POST", 503, 0.0)
            return
        self.in_flight[model] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released, self.in_flight[model] = True, self.in_flight[model] - 1

        async def send_and_release(message: Message) -> None:
            # Leave the count before the client has the whole answer: a keep-alive client's next
            # request may otherwise arrive while this one still counts, and be refused.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            release()
