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
class Interval:
    """A central prediction interval: `level` percent of actual values are expected inside."""

    level: float
    lower: list[float]
    upper: list[float]


@dataclass(frozen=True)
class Forecast:
    forecast: list[float]
    model: ModelRef
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    season: int | None = None  # the seasonal period applied (1: none)
    # With forecast(..., level=[80, 95]) and / or quantiles=[0.1, 0.9] (models trained with
    # intervals): one Interval per level, in order; quantile probability -> values per step.
    intervals: list[Interval] = field(default_factory=list)
    quantiles: dict[float, list[float]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the service did (values filled, ...)

    @classmethod
    def of(cls, body: dict[str, Any]) -> Forecast:
        return cls(
            list(body["forecast"]),
            ModelRef.of(body),
            body,
            body.get("season"),
            [Interval(i["level"], i["lower"], i["upper"]) for i in body.get("intervals") or []],
            {q["quantile"]: q["values"] for q in body.get("quantiles") or []},
            list(body.get("warnings") or []),
        )


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
