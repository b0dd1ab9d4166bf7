"""The outermost middleware: request context (id, log line, metrics, last-resort 500).

Pure ASGI rather than BaseHTTPMiddleware: nothing is buffered twice. What a request must pass
after this (API key, body, admission) is in app/admission.py.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import internal_error_response
from app.metrics import Metrics
from app.stages import Timeline, current_timeline, server_timing

if TYPE_CHECKING:
    from app.tracing import StageSpans  # imports OpenTelemetry only when tracing is on

logger = logging.getLogger("seqserve.http")
REQUEST_ID_HEADER = "X-Request-ID"
# A client's id is echoed only if it is short and plain, so it cannot forge log lines.
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Generated ids: a random prefix per process and a counter. Unique across replicas like a UUID,
# without a call to the OS's random source on every request (2% of CPU under load, measured).
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)
# Status logged and counted for a client that left before its answer (nginx's convention).
CLIENT_CLOSED = 499


def new_request_id() -> str:
    return f"{_ID_PREFIX}-{next(_ID_COUNTER):x}"


def _endpoint(scope: Scope) -> str:
    # The route template ("/forecast"), never the raw path: keeps metric label values bounded.
    # A model path refused before routing (no key, overload) names itself, from a fixed set.
    path = getattr(scope.get("route"), "path", None) or scope["state"].get("model_path")
    return path if isinstance(path, str) else "unmatched"


def _request_id(scope: Scope) -> str:
    given = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
    return given if _SANE_ID.fullmatch(given) else new_request_id()


def _milliseconds(stages: dict[str, float]) -> dict[str, float]:
    return {stage: round(seconds * 1000, 3) for stage, seconds in stages.items()}


class OpenRequests:
    """How many requests are being handled, so shutdown can wait for the cut ones to log."""

    def __init__(self) -> None:
        self.count = 0

    async def drained(self, timeout: float) -> None:
        # When the shutdown grace runs out, uvicorn cancels the running requests and then stops
        # the loop: without a few turns of the loop they would end without their log line.
        deadline = time.monotonic() + timeout
        while self.count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        open_requests: OpenRequests,
        spans: StageSpans | None = None,
    ) -> None:
        self.app, self.metrics, self.open_requests = app, metrics, open_requests
        self.spans = spans  # when tracing is on (app/tracing.py)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status, started, cut = 500, False, False
        timeline = Timeline()
        current_timeline.set(timeline)  # this request's task only: contextvars are per task

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
                headers = MutableHeaders(scope=message)
                headers.append(REQUEST_ID_HEADER, request_id)
                headers.append("Server-Timing", server_timing(timeline.stages(time.perf_counter())))
                if self.spans is not None:
                    self.spans.response_started(timeline, request_id)
            await send(message)

        begin = timeline.begin
        self.metrics.in_flight.inc()
        self.open_requests.count += 1
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = CLIENT_CLOSED  # the client left mid-upload: not a server error
        except asyncio.CancelledError:
            cut = True  # the shutdown grace ran out while this request was still running
            raise
        except Exception:
            # The last resort: log the traceback here, tell the client nothing about it.
            logger.exception("unhandled error", extra={"request_id": request_id})
            if not started:
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            end = time.perf_counter()
            seconds = end - begin
            self.metrics.in_flight.dec()
            self.open_requests.count -= 1
            self.metrics.observe(_endpoint(scope), scope["method"], status, seconds)
            if self.spans is not None:
                self.spans.request_ended(timeline, end)
            # Refusals for overload are counted but not logged: thousands a second would cost.
            if not scope["state"].get("shed"):
                logger.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        **({"model": timeline.model} if timeline.model else {}),
                        "stages_ms": {
                            k: round(v * 1000, 3) for k, v in timeline.stages(end).items()
                        },
                        **({"cut_at_shutdown": True} if cut else {}),
                    },
                )
