"""Typed results and the one exception. Unknown fields a newer server sends are kept in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SeqserveError(Exception):
    """A 4xx or 5xx answer: its status and the service's error body (error, type, details)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body
        self.type: str = str(body.get("type", "http_error"))
        self.details: list[dict[str, str]] = list(body.get("details") or [])
        super().__init__(f"{status} {self.type}: {body.get('error', '')}")


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: str

    @classmethod
    def of(cls, body: dict[str, Any]) -> ModelRef:
        return cls(str(body["model"]["name"]), str(body["model"]["version"]))


@dataclass(frozen=True)
class Forecast:
    forecast: list[float]
    model: ModelRef
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class SentimentPrediction:
    label: str
    score: float
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str
    tokens: int
    model: ModelRef
    # With generate(..., logprobs=N): per character {"token", "logprob", "top_logprobs"}.
    logprobs: list[dict[str, Any]] | None = None
