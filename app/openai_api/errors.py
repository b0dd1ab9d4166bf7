"""Errors on /v1/ in OpenAI's shape, whichever layer produced them (API key, body reader,
admission, validation, handlers): {"error": {"message", "type", "param", "code"}}, and a request
refused for its content is a 400 there, as OpenAI answers it."""

from __future__ import annotations

import json

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/v1/"


def openai_error(status: int, body: bytes) -> tuple[int, bytes]:
    """The service's error body (error, type, details) rewritten into OpenAI's."""
    try:
        ours = json.loads(body)
    except ValueError:
        ours = {"error": body.decode("utf-8", "replace")}
    details = ours.get("details") or []
    detail = details[0] if details else None
    message = str(ours.get("error", "")) + (
        f": {detail['field']}: {detail['message']}" if detail else ""
    )
    status = 400 if status == 422 else status
    error = {
        "message": message,
        "type": "invalid_request_error" if status < 500 else "server_error",
        "param": detail["field"].removeprefix("body.") if detail else None,
        "code": ours.get("type"),
    }
    return status, json.dumps({"error": error}).encode()


class OpenAIErrorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def reshape(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start = message  # held until the (small) error body is complete
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            status, body = openai_error(start["status"], b"".join(chunks))
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            headers["content-length"] = str(len(body))
            await send({**start, "status": status, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, reshape)
