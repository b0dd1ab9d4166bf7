"""Micro-batching: concurrent requests share model calls, results stay per request, load is shed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.batching import BatchLimits, MicroBatcher
from app.exceptions import Overloaded
from app.main import create_app
from app.stages import BatchStages
from tests.helpers import FakeForecaster, assert_error, fake_registry, make_settings

JSON = {"content-type": "application/json"}


class Recorder:
    """A model call that doubles its inputs and remembers the batches it saw."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[list[int]]] = []
        self.gate = gate

    def __call__(self, items: Sequence[list[int]]) -> list[list[int]]:
        if self.gate is not None:
            self.gate.wait(timeout=5)
        self.batches.append(list(items))
        return [[2 * x for x in item] for item in items]


class Observer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def observe_batch(self, model: str, queue_seconds: float, stages: BatchStages) -> None:
        assert queue_seconds >= 0 and stages.preprocess >= 0 and stages.postprocess >= 0
        self.calls.append((model, stages.rows))


def test_requests_queued_while_the_model_is_busy_run_together() -> None:
    gate = threading.Event()
    model, observer = Recorder(gate), Observer()
    batcher = MicroBatcher("m", model, BatchLimits(max_rows=8), observer)

    async def scenario() -> list[list[int]]:
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)  # the first call is now blocked inside the model
        rest = [asyncio.ensure_future(batcher.submit([i, i], rows=2)) for i in range(1, 4)]
        await asyncio.sleep(0.05)
        gate.set()
        return [await first, *[await r for r in rest]]

    results = asyncio.run(scenario())
    assert results == [[0], [2, 2], [4, 4], [6, 6]]
    assert model.batches == [[[0]], [[1, 1], [2, 2], [3, 3]]]
    assert observer.calls == [("m", 1), ("m", 6)]


def test_batches_never_exceed_max_rows_nor_split_a_request() -> None:
    gate = threading.Event()
    model = Recorder(gate)
    batcher = MicroBatcher("m", model, BatchLimits(max_rows=4))

    async def scenario() -> None:
        blocker = asyncio.ensure_future(batcher.submit([9]))
        await asyncio.sleep(0.05)
        sizes = [3, 3, 1, 5, 2]
        jobs = [asyncio.ensure_future(batcher.submit([n] * n, rows=n)) for n in sizes]
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.gather(blocker, *jobs)

    asyncio.run(scenario())
    rows = [sum(len(item) for item in batch) for batch in model.batches[1:]]
    assert rows == [3, 4, 5, 2]  # in arrival order; a 5-row request runs alone


def test_a_full_queue_refuses_at_once() -> None:
    gate = threading.Event()
    batcher = MicroBatcher("m", Recorder(gate), BatchLimits(max_rows=2, max_queue_rows=3))

    async def scenario() -> None:
        running = asyncio.ensure_future(batcher.submit([1]))
        await asyncio.sleep(0.05)
        queued = [asyncio.ensure_future(batcher.submit([i])) for i in range(3)]
        await asyncio.sleep(0)
        with pytest.raises(Overloaded) as info:
            await batcher.submit([99])
        assert info.value.retry_after >= 1
        gate.set()
        await asyncio.gather(running, *queued)
        assert await batcher.submit([5]) == [10]  # drained: accepted again

    asyncio.run(scenario())


def test_a_failing_batch_fails_only_its_requests() -> None:
    def flaky(items: Sequence[int]) -> list[int]:
        if 13 in items:
            raise ValueError("unlucky")
        return list(items)

    batcher = MicroBatcher("m", flaky, BatchLimits(max_rows=1))

    async def scenario() -> None:
        with pytest.raises(ValueError, match="unlucky"):
            await batcher.submit(13)
        assert await batcher.submit(7) == 7

    asyncio.run(scenario())


def test_a_new_event_loop_gets_a_fresh_worker() -> None:
    batcher = MicroBatcher("m", Recorder(), BatchLimits())
    assert asyncio.run(batcher.submit([1])) == [2]
    assert asyncio.run(batcher.submit([2])) == [4]


class OverloadedForecaster(FakeForecaster):
    async def forecast(self, series: Any, horizon: int, season: int, *asked: Any) -> Any:
        raise Overloaded("forecast", retry_after=2)


def test_overload_is_a_fast_503_with_retry_after(tmp_path: Path) -> None:
    settings = make_settings(models_dir=tmp_path)
    registry = fake_registry(settings, predictors={"forecast": OverloadedForecaster()})
    with TestClient(create_app(settings, registry)) as client:
        response = client.post("/forecast", json={"series": [1.0] * 4})
    assert_error(response, 503, "overloaded")
    assert response.headers["retry-after"] == "2"


class SlowForecaster(FakeForecaster):
    """Holds each request until released, so requests pile up in flight."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def forecast(self, series: Any, horizon: int, season: int, *asked: Any) -> Any:
        await self.release.wait()
        return await super().forecast(series, horizon, season, *asked)


def test_requests_beyond_the_in_flight_limit_are_refused_before_parsing(tmp_path: Path) -> None:
    import httpx

    settings = make_settings(models_dir=tmp_path, max_in_flight=2)
    slow = SlowForecaster()
    app = create_app(settings, fake_registry(settings, predictors={"forecast": slow}))
    body = {"series": [1.0] * 4}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            held = [asyncio.ensure_future(client.post("/forecast", json=body)) for _ in range(2)]
            await asyncio.sleep(0.1)  # both are now in flight, waiting on the model
            # Over the limit: refused even with a body that would not parse.
            refused = await client.post("/forecast", content=b"{not json", headers=JSON)
            other_model = await client.post("/sentiment", json={"text": "fine"})
            slow.release.set()
            served = await asyncio.gather(*held)
            return [refused, other_model, (await client.get("/metrics")), *served]

    refused, other_model, metrics, *served = asyncio.run(scenario())
    assert 'endpoint="/forecast",method="POST",status="503"} 1.0' in metrics.text
    assert_error(refused, 503, "overloaded")
    assert refused.headers["retry-after"] == "1"
    assert other_model.status_code == 200  # the limit is per model
    assert [r.status_code for r in served] == [200, 200]
