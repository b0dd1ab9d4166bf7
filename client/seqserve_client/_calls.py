"""What each call sends and how its answer is read, written once for `Client` and `AsyncClient`;
reading server-sent events; errors; the retry rule for 503."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from seqserve_client.types import Forecast, Generation, ModelRef, SentimentPrediction, SeqserveError

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    path: str
    body: dict[str, Any]
    read: Callable[[dict[str, Any]], T]


def _path(task_path: str, model: str | None, version: int | None) -> str:
    if version is not None and model is None:
        raise ValueError("a version needs a model name")
    prefix = f"/models/{model}" if model else ""
    return f"{prefix}/versions/{version}{task_path}" if version is not None else prefix + task_path


def forecast_call(
    series: Sequence[float | None],
    horizon: int,
    model: str | None,
    version: int | None,
    options: dict[str, Any],
) -> Call[Forecast]:
    return Call(
        _path("/forecast", model, version),
        {"series": list(series), "horizon": horizon, **options},
        Forecast.of,
    )


def sentiment_call(
    texts: Sequence[str], model: str | None, version: int | None
) -> Call[list[SentimentPrediction]]:
    def read(body: dict[str, Any]) -> list[SentimentPrediction]:
        return [SentimentPrediction(p["label"], float(p["score"]), p) for p in body["predictions"]]

    return Call(_path("/sentiment", model, version), {"texts": list(texts)}, read)


def generate_call(
    prompt: str, model: str | None, version: int | None, options: dict[str, Any]
) -> Call[Generation]:
    def read(body: dict[str, Any]) -> Generation:
        return Generation(
            body["text"],
            body["finish_reason"],
            int(body["tokens"]),
            ModelRef.of(body),
            body.get("logprobs"),
        )

    return Call(_path("/generate", model, version), {"prompt": prompt, **options}, read)


class Events:
    """Reads a server-sent event stream line by line: the text of each `token`, until `done`."""

    def __init__(self) -> None:
        self.event, self.done = "", False

    def feed(self, line: str) -> str:
        if line.startswith("event: "):
            self.event = line[len("event: ") :]
        elif line.startswith("data: ") and self.event == "token":
            return str(json.loads(line[len("data: ") :])["text"])
        elif line.startswith("data: ") and self.event == "done":
            self.done = True
        return ""


def error_from(response: httpx.Response) -> SeqserveError:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text}
    return SeqserveError(
        response.status_code, body if isinstance(body, dict) else {"error": str(body)}
    )


class Settings:
    def __init__(
        self, base_url: str, api_key: str | None, timeout: float, retries: int, max_wait: float
    ) -> None:
        self.base_url, self.timeout, self.retries, self.max_wait = (
            base_url,
            timeout,
            retries,
            max_wait,
        )
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying a 503 (its Retry-After, capped), or None to stop."""
        if response.status_code != 503 or attempt >= self.retries:
            return None
        try:
            wanted = float(response.headers.get("retry-after", "1"))
        except ValueError:
            wanted = 1.0
        return min(max(wanted, 0.0), self.max_wait)
