"""Batched, streaming generation with a step model that carries its recurrent state.

Every active stream advances one character per model call, and all active streams share that
call: eight concurrent generations cost about as much per character as one. A new stream's
prompt runs once, in one call, from zero state; after that each character is one step fed with
the stream's own state. Each stream samples with its own random generator, so a seeded request
produces the same text however many others run beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from app.artifacts import GeneratePreprocessing
from app.batching import BatchObserver, Overloaded
from app.runtime import Runtime
from app.sampling import next_token

FinishReason = Literal["length", "stop"]


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(eq=False)
class Stream:
    """One generation: its prompt, sampling, carried state and the text made so far."""

    prompt_ids: np.ndarray
    sampling: Sampling
    rng: np.random.Generator
    text: str = ""
    tokens: int = 0
    finish_reason: FinishReason | None = None
    cancelled: bool = False  # set when the client goes away; the engine then drops the stream
    states: list[np.ndarray] | None = None  # [1, units] each; None until the prompt has run
    last_id: int = 0
    emitted: int = 0  # characters of `text` already handed to the client
    updates: asyncio.Queue[None] = field(default_factory=asyncio.Queue)

    def pending_text(self) -> str:
        """New text that is safe to show: a possible start of a stop sequence is held back."""
        end = len(self.text) if self.finish_reason else len(self.text) - _partial_stop(self)
        piece, self.emitted = self.text[self.emitted : end], max(self.emitted, end)
        return piece


def _partial_stop(stream: Stream) -> int:
    """Length of the longest end of the text that could still grow into a stop sequence."""
    text = stream.text
    return max(
        (
            k
            for stop in stream.sampling.stop
            for k in range(1, len(stop))
            if text.endswith(stop[:k])
        ),
        default=0,
    )


def advance(runtime: Runtime, spec: GeneratePreprocessing, streams: Sequence[Stream]) -> list[int]:
    """The next token of every stream: new prompts run whole, the rest step together.

    Runs on the engine's thread and touches only what that thread owns (states, random
    generators); the text a client can read is updated afterwards, on the event loop, by record().
    """
    names = [f"state_{k}" for k in range(spec.state_count)]
    logits: dict[int, np.ndarray] = {}
    for i, stream in enumerate(streams):
        if stream.states is None:
            zeros = {name: np.zeros((1, spec.units), np.float32) for name in names}
            out, *states = runtime.run({"char_ids": stream.prompt_ids[None, :], **zeros})
            stream.states, logits[i] = states, out[0, -1]
    stepping = [i for i in range(len(streams)) if i not in logits]
    if stepping:
        feed = {"char_ids": np.array([[streams[i].last_id] for i in stepping], dtype=np.int32)}
        for k, name in enumerate(names):
            feed[name] = np.concatenate([_states(streams[i])[k] for i in stepping])
        out, *states = runtime.run(feed)
        for row, i in enumerate(stepping):
            streams[i].states = [s[row : row + 1] for s in states]
            logits[i] = out[row, -1]
    tokens = []
    for i, stream in enumerate(streams):
        s = stream.sampling
        stream.last_id = next_token(logits[i], stream.rng, s.temperature, s.top_k, s.top_p)
        tokens.append(stream.last_id)
    return tokens


def _states(stream: Stream) -> list[np.ndarray]:
    assert stream.states is not None
    return stream.states


def record(stream: Stream, token: int, spec: GeneratePreprocessing) -> None:
    """Append a sampled token; end the stream at a stop sequence or at max_tokens."""
    stream.tokens += 1
    stream.text += spec.vocabulary[token]
    ended = [stop for stop in stream.sampling.stop if stream.text.endswith(stop)]
    if ended:
        stream.text, stream.finish_reason = stream.text[: -max(map(len, ended))], "stop"
    elif stream.tokens >= stream.sampling.max_tokens:
        stream.finish_reason = "length"


def generate_now(runtime: Runtime, spec: GeneratePreprocessing, stream: Stream) -> Stream:
    """One stream to the end in the calling thread (warm-up, scripts, tests)."""
    while stream.finish_reason is None:
        record(stream, advance(runtime, spec, [stream])[0], spec)
    return stream


class Engine:
    """Runs every active stream of one model in a loop on a dedicated thread."""

    def __init__(
        self,
        runtime: Runtime,
        spec: GeneratePreprocessing,
        max_streams: int,
        observer: BatchObserver | None = None,
    ) -> None:
        self.runtime, self.spec, self.max_streams = runtime, spec, max_streams
        self._observer = observer
        self._waiting: deque[tuple[Stream, float]] = deque()
        self._active: list[Stream] = []
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="generate")

    def start(self, stream: Stream) -> Stream:
        if len(self._active) + len(self._waiting) >= self.max_streams:
            raise Overloaded("generate")
        loop = asyncio.get_running_loop()
        if self._worker is None or self._worker.done() or self._loop is not loop:
            self._wake, self._loop = asyncio.Event(), loop
            self._worker = loop.create_task(self._serve(), name="generate-engine")
        self._waiting.append((stream, time.perf_counter()))
        self._wake.set()
        return stream

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._waiting or self._active:
                now = time.perf_counter()
                waited = max((now - t for _, t in self._waiting), default=0.0)
                self._active += [stream for stream, _ in self._waiting]
                self._waiting.clear()
                self._active = [s for s in self._active if not s.cancelled]
                if not self._active:
                    break
                tokens = await loop.run_in_executor(
                    self._executor, advance, self.runtime, self.spec, self._active
                )
                for stream, token in zip(self._active, tokens, strict=True):
                    record(stream, token, self.spec)
                if self._observer is not None:
                    compute = time.perf_counter() - now
                    self._observer.observe_batch("generate", len(self._active), waited, compute)
                for stream in self._active:
                    stream.updates.put_nowait(None)
                self._active = [s for s in self._active if s.finish_reason is None]

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)


async def pieces(stream: Stream) -> AsyncIterator[str]:
    """The stream's text as it is made; marks the stream cancelled if the consumer stops."""
    try:
        while stream.finish_reason is None:
            await stream.updates.get()
            piece = stream.pending_text()
            if piece:
                yield piece
        if tail := stream.pending_text():
            yield tail
    finally:
        stream.cancelled = stream.finish_reason is None
