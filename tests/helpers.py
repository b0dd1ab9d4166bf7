"""What tests share besides fixtures: fake predictors, registries and settings built for a
test, and the one error shape every refusal must have (`assert_error`)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

with warnings.catch_warnings():
    # Starlette prefers the `httpx2` package for its TestClient and warns (an error here, with
    # filterwarnings=error) when it falls back to `httpx`, which is what the dev extras install.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from app.artifacts import ForecastPreprocessing
from app.batching import Batching
from app.config import Settings
from app.generation import Sampling, Stream
from app.registry import Registry, Target
from app.sampling import TokenLogprob
from app.schemas.generate import GenerateRequest
from app.schemas.sentiment import SentimentPrediction, prediction
from app.tasks.base import ModelInfo, Predictor
from app.tasks.forecast import Forecasts
from app.tasks.generate import Generation


class FakeForecaster:
    """At least 4 values, horizon up to 6; forecasts last value + 1, + 2, ...; the season is
    the requested one, or 1 when it is to be inferred."""

    info = ModelInfo(name="forecast", version="7", input={"window": 4, "max_horizon": 6})
    spec = ForecastPreprocessing(
        window=4,
        patch=4,
        horizon=6,
        history=16,
        min_length=4,
        max_season=168,
        correction_bound=1.0,
        min_relative_scale=1e-6,
    )
    has_intervals = False  # an artifact from before intervals (tests/app/test_forecast_answers.py)

    async def forecast(
        self,
        series: Sequence[Sequence[float]],
        horizon: int,
        season: int,
        probabilities: Sequence[float] = (),
    ) -> Forecasts:
        values = np.array([[s[-1] + step for step in range(1, horizon + 1)] for s in series])
        return Forecasts(values, np.full(len(series), season or 1))

    def warm_up(self) -> None:
        pass


class FakeClassifier:
    info = ModelInfo(name="sentiment", version="2", input={"labels": ["negative", "positive"]})

    async def classify(self, texts: Sequence[str]) -> list[SentimentPrediction]:
        return [prediction(0.75 if "good" in t else 0.25, ("negative", "positive")) for t in texts]

    def warm_up(self) -> None:
        pass


class FakeGenerator:
    """Repeats "abc "; honours max_tokens and stop like the real generator."""

    info = ModelInfo(name="generate", version="1", input={"vocabulary": "abc "})
    vocabulary = "abc "
    vocab_size = 4

    def start(self, request: GenerateRequest) -> Stream:
        """A stream that is already finished: its whole text arrives as one piece."""
        stream = Stream(
            np.zeros(1, np.int32), Sampling(request.max_tokens), np.random.default_rng()
        )
        for step in range(1, request.max_tokens + 1):
            stream.text += "abc "[(step - 1) % 4]
            stream.tokens = step
            if request.logprobs is not None:  # every character certain; "abc " after it
                top = tuple((i, -1.0 * i) for i in range(min(request.logprobs, 4)))
                stream.logprobs.append(TokenLogprob((step - 1) % 4, 0.0, top))
            for stop in request.stop:
                if stream.text.endswith(stop):
                    stream.text, stream.finish_reason = stream.text[: -len(stop)], "stop"
                    del stream.logprobs[len(stream.text) :]
                    return stream
        stream.finish_reason = "length"
        return stream

    async def generate(self, request: GenerateRequest) -> Generation:
        stream = self.start(request)
        return Generation(
            stream.text, stream.finish_reason or "length", stream.tokens, stream.logprobs
        )

    def warm_up(self) -> None:
        pass


FAKES: dict[str, Callable[[], Predictor]] = {
    "forecast": FakeForecaster,
    "sentiment": FakeClassifier,
    "generate": FakeGenerator,
}


def fake_registry(
    settings: Settings, missing: Sequence[str] = (), predictors: dict[str, Predictor] | None = None
) -> Registry:
    """A registry, already loaded, whose predictors are fakes; `missing` tasks fail to load."""

    def build(target: Target, settings: Settings, batching: Batching) -> Predictor:
        if target.task in missing:
            raise FileNotFoundError(f"no trained version in {target.name}/")
        return (predictors or {}).get(target.task) or FAKES[target.task]()

    registry = Registry(settings, builder=build)
    registry.load_all()
    return registry


def loaded_registry(models_dir: Path, **overrides: Any) -> Registry:
    """A registry of the real artifacts in `models_dir`, loaded now; every model must be ready."""
    registry = Registry(make_settings(models_dir=models_dir, **overrides))
    registry.load_all()
    assert registry.ready, [s.reason for s in registry.statuses()]
    return registry


def wait_until_ready(client: TestClient, seconds: float = 60) -> None:
    """Poll /ready until every model is loaded and warm (they load in the lifespan)."""
    deadline = time.monotonic() + seconds
    while (ready := client.get("/ready")).status_code != 200:
        assert time.monotonic() < deadline, ready.text
        time.sleep(0.05)


def make_settings(**overrides: Any) -> Settings:
    # No .env file: tests must not depend on the machine they run on.
    return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]


def assert_error(response: Any, status: int, kind: str, field: str | None = None) -> dict[str, Any]:
    """The one error shape: exactly error, type, details; `field` among the details if given."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "type", "details"}, body
    assert body["type"] == kind and isinstance(body["error"], str) and body["error"]
    assert all(set(d) == {"field", "message"} for d in body["details"])
    if field is not None:
        assert field in [d["field"] for d in body["details"]], body
    assert response.headers["x-request-id"]
    return body
