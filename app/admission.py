"""What a request must pass before it reaches a route, in this order: the API key, the whole body
(bounded in size and in time, UTF-8), then a slot among the model's requests in flight.

The order is what keeps one client from starving the others: a request holds an admission slot
only once it is authorised and its whole body has arrived, so clients without the key and uploads
that stall hold none. Pure ASGI, so each layer can answer before the ones inside it run.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.artifacts import Task
from app.errors import error_response
from app.exceptions import ErrorDetail
from app.stages import current_timeline

# On refusals made before the request body was read: the connection cannot be reused.

# On refusals made before the request body was read: the connection cannot be reused.
_CLOSE = {"Connection": "close"}


OPENAI_COMPLETIONS = "/v1/completions"


class ModelRoutes:
    """Which model a request path addresses, for every model route by construction: the task
    paths (/forecast -> the task's default model) and the same paths under /models/{name}/ and
    /models/{name}/versions/{version}/ (app/routes/named.py)."""

    def __init__(
        self, task_paths: Mapping[str, Task], default_model: Callable[[Task], str]
    ) -> None:
        self.defaults = {path: default_model(task) for path, task in task_paths.items()}
        suffixes = "|".join(re.escape(path) for path in sorted(task_paths, key=len, reverse=True))
        # The same routes by name and version, and the Open Inference Protocol's /infer.
        # Any name and version segment: a path the routes would refuse as malformed must still
        # need the key and a slot, never slip past both (`/versions/1.0/infer` once did).
        self.named = re.compile(
            rf"(?P<root>/models|/v2/models)/(?P<name>[^/]+)"
            rf"(?P<version>/versions/[^/]+)?(?P<task>{suffixes}|/infer)"
        )

    def _match(self, path: str) -> re.Match[str] | None:
        match = self.named.fullmatch(path)
        v2, infer = match and match["root"] == "/v2/models", match and match["task"] == "/infer"
        return match if match and v2 == infer else None  # /infer only under /v2, tasks never

    def model(self, path: str) -> str | None:
        if (name := self.defaults.get(path)) is not None:
            return name
        if path == OPENAI_COMPLETIONS:  # its model is named in the body: one shared budget
            return path
        match = self._match(path)
        return match["name"] if match else None

    def template(self, path: str) -> str:
        """The route template of a model path: a metric label that clients cannot multiply."""
        if path in self.defaults or path == OPENAI_COMPLETIONS:
            return path
        if not (match := self._match(path)):
            return "/admin/*" if path.startswith("/admin/") else "unmatched"
        version = "/versions/{version}" if match["version"] else ""
        return f"{match['root']}/{{name}}{version}{match['task']}"

    def protected(self, path: str) -> bool:
        """Paths that need the API key: every model route, OpenAI's, and administration."""
        return self.model(path) is not None or path == "/v1/models" or path.startswith("/admin/")

    def binary_tensors(self, path: str) -> bool:
        """Open Inference Protocol /infer paths, whose bodies may carry binary tensor data."""
        match = self._match(path)
        return match is not None and match["task"] == "/infer"


class ApiKeyMiddleware:
    """401 for a request to a protected path without the configured key, before its body is read.

    Checked ahead of everything a request can hold: an unauthenticated client never takes an
    admission slot, never has its body buffered or parsed (so no parse error reaches it first).
    """

    def __init__(self, app: ASGIApp, key: str, routes: ModelRoutes) -> None:
        self.app, self.key, self.routes = app, key.encode(), routes
        message = (
            "missing or wrong API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"
        )
        # Connection: close, since the body of the refused request is never read.
        headers = {"WWW-Authenticate": "Bearer", "Connection": "close"}
        self.refusal = error_response(401, message, "unauthorized", headers=headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path and self.routes.protected(path) and not self._authorised(scope):
            scope["state"]["model_path"] = self.routes.template(path)
            await self.refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        headers = Headers(scope=scope)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        given = token if scheme.lower() == "bearer" else headers.get("x-api-key", "")
        # Constant-time comparison: response timing must not reveal how much of a guess was right.
        return hmac.compare_digest(given.encode("latin-1"), self.key)


class BodyReaderMiddleware:
    """Reads the whole body, bounded in size and in time, and checks it is UTF-8; then replays it.

    413 past `max_bytes` (by Content-Length or by counting what arrives), 408 when the body has
    not arrived within `timeout` seconds of the app asking for it (a client that sends one byte a
    second holds nothing for long), 400 for bytes that are not UTF-8: JSON must be UTF-8 (RFC
    8259), and Python's parser would otherwise guess UTF-16 or UTF-32 and let surrogates through.
    A client that leaves mid-upload raises ClientDisconnect, logged as 499, not as a server error.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float, routes: ModelRoutes) -> None:
        self.app, self.max_bytes, self.timeout, self.routes = app, max_bytes, timeout, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.isdigit():
            await error_response(400, "invalid Content-Length header", headers=_CLOSE)(
                scope, receive, send
            )
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            message = f"request body not received within {self.timeout:g} s"
            message += " (SEQSERVE_BODY_TIMEOUT_SECONDS)"
            await error_response(408, message, "request_timeout", headers=_CLOSE)(
                scope, receive, send
            )
            return
        if body is None:
            await self._too_large(scope, receive, send)
            return
        # With the binary tensor extension only the JSON part is text (checked by app/v2).
        binary = self.routes.binary_tensors(scope["path"]) and (
            "inference-header-content-length" in Headers(scope=scope)
        )
        if not binary and (b"\x00" in body or not _is_utf8(body)):
            detail = ErrorDetail(field="body", message="must be UTF-8 encoded JSON")
            await error_response(400, "request body is not UTF-8", "invalid_json", [detail])(
                scope, receive, send
            )
            return
        if (timeline := current_timeline.get()) is not None:
            timeline.body_read = time.perf_counter()
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # later calls wait for the disconnect, as usual
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes max_bytes (chunked uploads declare no size)."""
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                raise ClientDisconnect
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                return None
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body exceeds {self.max_bytes} bytes (SEQSERVE_MAX_BODY_BYTES)"
        refusal = error_response(413, message, "payload_too_large", headers=_CLOSE)
        await refusal(scope, receive, send)


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class AdmissionMiddleware:
    """Admission control: at most `limit` requests in flight per model; the rest get 503 at once.

    It runs once a request is authorised and its body has arrived, so a slot is held only by
    work the model will really do: stalled uploads and clients without the key hold none. A
    refusal is still cheap: no JSON parsed, no log line (thousands a second under overload would
    themselves eat the CPU), only a request id and a count in the metrics. Refusing later, at the
    model's queue, cost as much CPU as serving (0.42 ms per 503, measured at 4x capacity).
    """

    def __init__(self, app: ASGIApp, limit: int, routes: ModelRoutes) -> None:
        self.app, self.limit, self.routes = app, limit, routes
        self.in_flight: Counter[str] = Counter()  # model name -> requests in flight
        self.refusals: dict[str, bytes] = {}  # each model's refusal, rendered once

    def _refusal(self, model: str) -> bytes:
        if model not in self.refusals:
            if len(self.refusals) >= 1024:  # names come from clients: keep the cache bounded
                self.refusals.clear()
            message = f"model '{model}' is overloaded ({self.limit} requests in flight); retry"
            self.refusals[model] = bytes(error_response(503, message, "overloaded").body)
        return self.refusals[model]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = self.routes.model(scope["path"]) if scope["type"] == "http" else None
        if model is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.in_flight[model] >= self.limit:
            scope["state"].update(shed=True, model_path=self.routes.template(scope["path"]))
            refusal = Response(self._refusal(model), 503, {"Retry-After": "1"}, "application/json")
            await refusal(scope, receive, send)
            return
        self.in_flight[model] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released, self.in_flight[model] = True, self.in_flight[model] - 1
                if not self.in_flight[model]:
                    del self.in_flight[model]  # names come from clients: no entry stays at 0

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
