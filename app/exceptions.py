"""What can go wrong serving a request, as exceptions that know their HTTP answer.

The inference layer (predictors, batching, the registry, protocol codecs) raises these and never
imports FastAPI; app/errors.py turns any of them into the one error body with one handler, so a
new kind of failure is a subclass here, not a new handler.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    field: str
    message: str


class ServiceError(Exception):
    """A failure with its status, error type, field details and response headers."""

    status = 500
    kind = "internal_error"

    def __init__(
        self,
        message: str,
        details: Sequence[ErrorDetail] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.details, self.headers = message, list(details), dict(headers or {})


class InvalidRequest(ServiceError):
    """A request that is well-formed but breaks a limit (configured or the model's): 422."""

    status, kind = 422, "validation_error"

    def __init__(self, details: Sequence[ErrorDetail]) -> None:
        super().__init__("request exceeds a limit", details)

    def __str__(self) -> str:
        return "; ".join(f"{d.field}: {d.message}" for d in self.details)


class ProtocolError(ServiceError):
    """A request that does not follow the protocol (Open Inference Protocol): 400."""

    status, kind = 400, "invalid_request"


class ModelNotFound(ServiceError):
    """No model of that name (or it serves another task, or not that version): 404."""

    status, kind = 404, "model_not_found"

    def __init__(self, name: str, why: str = "is not in the repository") -> None:
        super().__init__(f"model '{name}' {why}")


class ModelNotReady(ServiceError):
    """The model behind an endpoint is loading or failed to load: 503 with the reason."""

    status, kind = 503, "model_not_ready"

    def __init__(self, task: str, state: str, reason: str | None) -> None:
        what = "is still loading" if state == "loading" else f"is not available ({state})"
        # A loading model is worth retrying soon; a failed one needs an operator.
        headers = {"Retry-After": "5"} if state == "loading" else None
        super().__init__(f"model '{task}' {what}" + (f": {reason}" if reason else ""), (), headers)
        self.task, self.state = task, state


class Overloaded(ServiceError):
    """The model's queue (or stream limit) is full: 503, try again shortly."""

    status, kind = 503, "overloaded"

    def __init__(self, model: str, retry_after: int = 1) -> None:
        message = f"model '{model}' is overloaded; retry after {retry_after}s"
        super().__init__(message, (), {"Retry-After": str(retry_after)})
        self.model, self.retry_after = model, retry_after
