"""Where a request's time goes, stage by stage: read, validate, queue, preprocess, model call,
postprocess, respond.

Batch stages are timed on the thread that runs the batch: every runtime call is wrapped by
`model_call()`, so preprocessing is what a batch did before its first model call and
postprocessing what it did after its last. Each request then carries its own `Timeline` (a
context variable set by the request middleware), read back for the log line, the
`Server-Timing` header and trace spans; each batch's stages go to the per-model metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
_calls = threading.local()  # the model calls of the batch this thread is running


@dataclass(frozen=True)
class BatchStages:
    """One model batch, in perf_counter seconds: when it started and each stage's end."""

    started: float
    preprocessed: float  # the first model call began
    modelled: float  # the last model call ended
    ended: float
    model_seconds: float  # time inside model calls (several calls: their sum)
    rows: int

    @property
    def preprocess(self) -> float:
        return self.preprocessed - self.started

    @property
    def postprocess(self) -> float:
        return self.ended - self.modelled


@contextmanager
def model_call() -> Iterator[None]:
    """Around every runtime call (app/runtime wraps each runtime in it)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        end = time.perf_counter()
        if getattr(_calls, "first", None) is None:
            _calls.first = start
        _calls.last, _calls.total = end, getattr(_calls, "total", 0.0) + end - start


def timed_batch(run: Callable[[], T], rows: int) -> tuple[T, BatchStages]:
    """Run one batch and say how long each of its stages took."""
    _calls.first, _calls.last, _calls.total = None, None, 0.0
    started = time.perf_counter()
    result = run()
    ended = time.perf_counter()
    first, last = _calls.first or ended, _calls.last or ended  # no model call: all preprocessing
    return result, BatchStages(started, first, last, ended, _calls.total, rows)


@dataclass
class Timeline:
    """One request: when its body arrived, when it reached its model, and its batch's stages."""

    begin: float = field(default_factory=time.perf_counter)
    begin_ns: int = field(default_factory=time.time_ns)  # wall clock, for trace spans
    body_read: float | None = None
    queued: float | None = None
    batch: BatchStages | None = None
    answered: float | None = None  # the batch's result reached the request
    model: str | None = None  # "<name>:<version>"

    def wall_ns(self, moment: float) -> int:
        return self.begin_ns + int((moment - self.begin) * 1e9)

    def stages(self, end: float) -> dict[str, float]:
        """Seconds per stage, for the stages this request went through."""
        marks: list[tuple[str, float | None]] = [("read", self.body_read)]
        if self.batch is not None and self.queued is not None:
            marks += [
                ("validate", self.queued),
                ("queue", self.batch.started),
                ("preprocess", self.batch.preprocessed),
                ("model", self.batch.modelled),
                ("postprocess", self.batch.ended),
            ]
        marks.append(("respond", end))
        out, previous = {}, self.begin
        for stage, moment in marks:
            if moment is not None:
                out[stage], previous = max(0.0, moment - previous), moment
        return out


current_timeline: ContextVar[Timeline | None] = ContextVar("seqserve_timeline", default=None)


def server_timing(stages: dict[str, float]) -> str:
    """The `Server-Timing` header value (milliseconds), as browsers' developer tools show it."""
    return ", ".join(f"{stage};dur={seconds * 1000:.3f}" for stage, seconds in stages.items())
