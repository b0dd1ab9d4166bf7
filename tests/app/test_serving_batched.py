"""On the tiny trained models: a request's result is the same alone or batched, and streaming
generation (batched across streams) gives exactly the text of a lone, non-streamed request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.exceptions import Overloaded
from app.generation import pieces
from app.main import create_app
from app.registry import Registry
from app.schemas.generate import GenerateRequest
from app.tasks.forecast import ForecastPredictor, Forecasts
from app.tasks.generate import GeneratePredictor
from app.tasks.sentiment import SentimentPredictor
from tests.helpers import make_settings, wait_until_ready

pytestmark = pytest.mark.slow


def test_forecasts_do_not_depend_on_the_batch(tiny_registry: Registry) -> None:
    model = cast(ForecastPredictor, tiny_registry.get("forecast"))
    rng = np.random.default_rng(1)
    # Lengths from the minimum to beyond the base's history, seasons given and inferred.
    lengths = [model.spec.min_length, 40, 200, 700, 1500, 3000]
    jobs = [
        ([list(rng.normal(size=n) * 10**k) for _ in range(1 + k % 3)], 1 + k, (0, 12, 1)[k % 3])
        for k, n in enumerate(lengths)
    ]

    async def concurrently() -> list[Forecasts]:
        return await asyncio.gather(*(model.forecast(*job) for job in jobs))

    together = asyncio.run(concurrently())
    for (series, horizon, season), batched in zip(jobs, together, strict=True):
        alone = model.predict(series, np.full(len(series), season))
        assert batched.values.shape == (len(series), horizon)
        np.testing.assert_array_equal(batched.values, alone.values[:, :horizon])
        np.testing.assert_array_equal(batched.seasons, alone.seasons)


def test_sentiment_does_not_depend_on_the_batch(tiny_registry: Registry) -> None:
    model = cast(SentimentPredictor, tiny_registry.get("sentiment"))
    jobs = [["a great film"], ["dull", "superb and moving!"], ["plot plot plot"] * 3]

    async def concurrently() -> list[Any]:
        return await asyncio.gather(*(model.classify(texts) for texts in jobs))

    for texts, batched in zip(jobs, asyncio.run(concurrently()), strict=True):
        assert batched == model.predict(texts)


REQUESTS = [
    {"prompt": "ROMEO:", "max_tokens": 40, "temperature": 0.9, "seed": 1},
    {"prompt": "O", "max_tokens": 25, "temperature": 0, "seed": None},
    {"prompt": "JULIET:\nO Romeo", "max_tokens": 60, "top_k": 5, "seed": 2},
    {"prompt": "", "max_tokens": 33, "top_p": 0.8, "seed": 3, "stop": ["\n\n", "eo"]},
    {"prompt": "ROMEO:", "max_tokens": 50, "temperature": 0, "frequency_penalty": 0.7},
    {"prompt": "O", "max_tokens": 45, "seed": 4, "repetition_penalty": 1.3, "presence_penalty": 1},
]


def test_concurrent_streams_generate_what_each_would_alone(tiny_registry: Registry) -> None:
    model = cast(GeneratePredictor, tiny_registry.get("generate"))
    requests = [GenerateRequest.model_validate(r) for r in REQUESTS]

    async def concurrently() -> list[Any]:
        return await asyncio.gather(*(model.generate(r) for r in requests))

    for request, together in zip(requests, asyncio.run(concurrently()), strict=True):
        assert together == model.complete(request)


def test_too_many_streams_are_refused(tiny_registry: Registry) -> None:
    model = cast(GeneratePredictor, tiny_registry.get("generate"))
    request = GenerateRequest(prompt="R", max_tokens=1000, seed=0)

    async def scenario() -> None:
        streams = [model.start(request) for _ in range(6)]
        with pytest.raises(Overloaded):
            model.start(request)
        for stream in streams:  # clients going away free their places
            stream.cancelled = True
        await asyncio.sleep(0.2)
        model.start(GenerateRequest(prompt="R", max_tokens=1, seed=0))

    asyncio.run(scenario())


def test_a_consumer_that_stops_reading_cancels_its_stream(tiny_registry: Registry) -> None:
    model = cast(GeneratePredictor, tiny_registry.get("generate"))

    async def scenario() -> int:
        stream = model.start(GenerateRequest(prompt="R", max_tokens=1000, seed=0))
        reader = pieces(stream)
        await reader.__anext__()
        await reader.aclose()  # what Starlette does when the client disconnects
        assert stream.cancelled
        await asyncio.sleep(0.1)
        return stream.tokens

    assert asyncio.run(scenario()) < 1000


def sse_events(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    events, name = [], ""
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


@pytest.mark.parametrize("request_body", REQUESTS)
def test_streamed_text_equals_the_plain_answer(
    tiny_models: Path, request_body: dict[str, Any]
) -> None:
    settings = make_settings(models_dir=tiny_models)
    with TestClient(create_app(settings)) as client:
        wait_until_ready(client, 30)
        plain = client.post("/generate", json=request_body).json()
        body = {**request_body, "stream": True}
        with client.stream("POST", "/generate", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response.iter_lines())
    *tokens, (last, done) = events
    assert {name for name, _ in tokens} <= {"token"} and last == "done"
    assert "".join(data["text"] for _, data in tokens) == plain["text"]
    assert done == {k: plain[k] for k in ("finish_reason", "tokens", "model")}
    for stop in request_body.get("stop", []):
        assert all(stop not in data["text"] for _, data in tokens)
