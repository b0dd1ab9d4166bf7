"""Micro-batching: concurrent requests to one model share a single model call.

Requests queue up while the model is busy; when it frees up, everything waiting (up to
`max_rows`) runs as one batch. Under light load a request therefore runs at once, alone, and
pays no batching delay; under heavy load batches grow by themselves. `max_delay` can add a short
wait for more requests before each batch, trading latency for bigger batches.

The queue is bounded: past `max_queue_rows` waiting rows a request is refused at once
(`Overloaded`, answered 503 with Retry-After) instead of waiting without end.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Overloaded(Exception):
    """The model's queue is full: try again shortly."""

    def __init__(self, model: str, retry_after: int = 1) -> None:
        super().__init__(f"model '{model}' is overloaded; retry after {retry_after}s")
        self.model, self.retry_after = model, retry_after


@dataclass(frozen=True)
class BatchLimits:
    max_rows: int = 64  # rows (series, texts, streams) in one model call
    max_queue_rows: int = 256  # rows waiting before new requests are refused
    max_delay: float = 0.0  # seconds to wait for more requests before a batch
    max_streams: int = 64  # generations stepped together; more are refused


class BatchObserver(Protocol):
    def observe_batch(self, model: str, rows: int, queue_seconds: float, compute: float) -> None:
        """Called once per batch: its size, the oldest request's wait and the compute time."""


@dataclass
class _Pending(Generic[Item, Result]):
    item: Item
    rows: int
    future: asyncio.Future[Result]
    queued_at: float


@dataclass(frozen=True)
class Batching:
    """How a predictor batches: the limits, and who hears about each batch (metrics)."""

    limits: BatchLimits = BatchLimits()
    observer: BatchObserver | None = None

    def batcher(
        self, name: str, run_batch: Callable[[Sequence[Item]], Sequence[Result]]
    ) -> MicroBatcher[Item, Result]:
        return MicroBatcher(name, run_batch, self.limits, self.observer)


class MicroBatcher(Generic[Item, Result]):
    """`await batcher.submit(item, rows)` -> that item's result from `run_batch(items)`.

    `run_batch` runs in one dedicated thread per model (never on the event loop) and must return
    one result per item, in order. Each model call sees whole requests: a request's rows are
    never split across two batches.
    """

    def __init__(
        self,
        name: str,
        run_batch: Callable[[Sequence[Item]], Sequence[Result]],
        limits: BatchLimits,
        observer: BatchObserver | None = None,
    ) -> None:
        self.name, self.limits, self._run_batch, self._observer = name, limits, run_batch, observer
        self._queue: deque[_Pending[Item, Result]] = deque()
        self._queued_rows = 0
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"batch-{name}")

    async def submit(self, item: Item, rows: int = 1) -> Result:
        if self._queued_rows + rows > self.limits.max_queue_rows and self._queue:
            raise Overloaded(self.name)
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._loop is not loop:
            # First use, or a new event loop (tests start one per client): a fresh worker.
            self._wake, self._loop = asyncio.Event(), loop
            self._worker = loop.create_task(self._serve(), name=f"batcher-{self.name}")
        pending = _Pending(item, rows, loop.create_future(), time.perf_counter())
        self._queue.append(pending)
        self._queued_rows += rows
        self._wake.set()
        return await pending.future

    def _take_batch(self) -> list[_Pending[Item, Result]]:
        batch = [self._queue.popleft()]  # always at least one, however many rows it has
        rows = batch[0].rows
        while self._queue and rows + self._queue[0].rows <= self.limits.max_rows:
            batch.append(self._queue.popleft())
            rows += batch[-1].rows
        self._queued_rows -= rows
        return batch

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                if self.limits.max_delay > 0:
                    await asyncio.sleep(self.limits.max_delay)
                batch = [p for p in self._take_batch() if not p.future.done()]
                if batch:
                    await self._run(loop, batch)

    async def _run(
        self, loop: asyncio.AbstractEventLoop, batch: list[_Pending[Item, Result]]
    ) -> None:
        started = time.perf_counter()
        try:
            results = await loop.run_in_executor(
                self._executor, self._run_batch, [p.item for p in batch]
            )
        except Exception as exc:  # one bad batch fails its requests, not the worker
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        if self._observer is not None:
            rows = sum(p.rows for p in batch)
            queued = started - min(p.queued_at for p in batch)
            self._observer.observe_batch(self.name, rows, queued, time.perf_counter() - started)
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():  # the client may have gone away meanwhile
                pending.future.set_result(result)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
