"""The one error body every failure uses, and the handlers that produce it.

    {"error": "<message>", "type": "<kind>",
     "details": [{"field": "body.series[3]", "message": "..."}]}

FastAPI's default `{"detail": ...}` never reaches a client: validation errors, HTTP errors (404,
405, ...), oversized bodies, every ServiceError (app/exceptions.py: limits, unknown or unready
models, overload, protocol errors) and unexpected exceptions all end here.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.exceptions import ErrorDetail, ServiceError

logger = logging.getLogger("seqserve.errors")


class ErrorBody(BaseModel):
    error: str
    type: str
    details: list[ErrorDetail] = []


_KINDS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    431: "headers_too_large",
    503: "service_unavailable",
}


def error_response(
    status: int,
    message: str,
    kind: str | None = None,
    details: Sequence[ErrorDetail] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    kind = kind or _KINDS.get(status, "http_error")
    body = ErrorBody(error=message, type=kind, details=list(details))
    return JSONResponse(body.model_dump(), status_code=status, headers=dict(headers or {}))


def field_path(loc: Sequence[int | str]) -> str:
    """("body", "series", 3) -> "body.series[3]"."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _validation_details(errors: Sequence[Any]) -> list[ErrorDetail]:
    return [ErrorDetail(field=field_path(e["loc"]), message=e["msg"]) for e in errors]


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    bad_json = [e for e in errors if e["type"] == "json_invalid"]
    if bad_json:
        # FastAPI reports the character offset of the syntax error; say where and why.
        error = bad_json[0]
        where = error["loc"][-1]
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        detail = ErrorDetail(field="body", message=f"{reason} at character {where}")
        return error_response(400, "request body is not valid JSON", "invalid_json", [detail])
    if any(e["loc"] == ("body",) and isinstance(e.get("input"), bytes) for e in errors):
        # FastAPI hands over raw bytes when the Content-Type is not JSON.
        detail = ErrorDetail(field="headers.content-type", message="must be application/json")
        return error_response(415, "request body must be JSON", details=[detail])
    count = len(errors)
    message = f"request validation failed ({count} error{'s' if count > 1 else ''})"
    return error_response(422, message, "validation_error", _validation_details(errors))


async def _on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return error_response(exc.status, exc.message, exc.kind, exc.details, exc.headers)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404:
        message = f"no resource at {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    elif exc.status_code == 400:
        # FastAPI's body parser failed with something other than a JSON syntax error.
        detail = ErrorDetail(field="body", message=_unparsable_reason(await request.body()))
        return error_response(400, "request body is not valid JSON", "invalid_json", [detail])
    return error_response(exc.status_code, message, headers=exc.headers)


def _unparsable_reason(body: bytes) -> str:
    """Why a syntactically valid JSON body could not be parsed (only on this error path)."""
    try:
        json.loads(body)
    except RecursionError:
        return "nested too deeply to parse"
    except ValueError as error:  # e.g. Python's limit of 4,300 digits for an integer
        if "digits" in str(error):
            return f"a number has too many digits ({sys.get_int_max_str_digits()} at most)"
    return "could not be parsed"


def internal_error_response() -> JSONResponse:
    # Deliberately generic: no exception text, stack trace or path reaches the client.
    return error_response(500, "internal server error", "internal_error")


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def install_error_handlers(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], Handler]] = [
        (ServiceError, _on_service_error),
        (RequestValidationError, _on_validation_error),
        (StarletteHTTPException, _on_http_error),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)


def _example(kind: str, message: str) -> dict[str, Any]:
    body = {"error": message, "type": kind, "details": []}
    return {"model": ErrorBody, "content": {"application/json": {"example": body}}}


# OpenAPI documentation of the error responses model endpoints can give.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _example("invalid_json", "request body is not valid JSON"),
    404: _example("model_not_found", "model 'sales' is not in the repository"),
    413: _example("payload_too_large", "request body exceeds 1048576 bytes"),
    415: _example("unsupported_media_type", "request body must be JSON"),
    422: _example("validation_error", "request validation failed (1 error)"),
    503: _example("model_not_ready", "model 'forecast' is still loading"),
}
