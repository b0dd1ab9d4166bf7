"""Batched, streaming generation with a step model that carries its recurrent state.

Every active stream advances one character per model call, and all active streams share that
call: eight concurrent generations cost about as much per character as one. A new stream's
prompt runs once, in one call, from zero state; after that each character is one step fed with
the stream's own state. Each stream samples with its own random generator, so a seeded request
produces the same text however many others run beside it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import numpy as np

from app.artifacts import GeneratePreprocessing
from app.batching import IDLE_THREAD_SECONDS, BatchObserver
from app.exceptions import Overloaded
from app.runtime import Runtime
from app.sampling import TokenHistory, TokenLogprob, next_token, penalise, token_logprob
from app.stages import timed_batch

FinishReason = Literal["length", "stop"]
# What the engine thread hands a stream after each step: new text, finish reason, failure.
Update = tuple[str, "FinishReason | None", "Exception | None"]


@dataclass(frozen=True)
class Sampling:
    max_tokens: int
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    repetition_penalty: float = 1.0
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    logprobs: int | None = None  # alternatives to report per token; None = no log-probabilities

    @property
    def penalised(self) -> bool:
        off = (1.0, 0.0, 0.0)
        return (self.repetition_penalty, self.frequency_penalty, self.presence_penalty) != off


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
    history: TokenHistory | None = None  # tokens so far, kept only when a penalty is on
    logprobs: list[TokenLogprob] = field(default_factory=list)  # one per character of `text`
    emitted: int = 0  # characters of `text` already handed to the client
    # Written by the engine thread through `loop`; read by the request's coroutine.
    updates: asyncio.Queue[Update] = field(default_factory=asyncio.Queue)
    loop: asyncio.AbstractEventLoop | None = None

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
    return [_sample(stream, logits[i], len(spec.vocabulary)) for i, stream in enumerate(streams)]


def _sample(stream: Stream, logits: np.ndarray, vocab_size: int) -> int:
    s = stream.sampling
    raw = logits
    if s.penalised:
        if stream.history is None:
            stream.history = TokenHistory(vocab_size, stream.prompt_ids)
        logits = penalise(
            logits, stream.history, s.repetition_penalty, s.frequency_penalty, s.presence_penalty
        )
    stream.last_id = next_token(logits, stream.rng, s.temperature, s.top_k, s.top_p)
    if s.logprobs is not None:
        stream.logprobs.append(token_logprob(raw, stream.last_id, s.logprobs))
    if stream.history is not None:
        stream.history.add(stream.last_id)
    return stream.last_id


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
        del stream.logprobs[len(stream.text) :]  # a removed stop sequence has none either
    elif stream.tokens >= stream.sampling.max_tokens:
        stream.finish_reason = "length"


def generate_now(runtime: Runtime, spec: GeneratePreprocessing, stream: Stream) -> Stream:
    """One stream to the end in the calling thread (warm-up, scripts, tests)."""
    while stream.finish_reason is None:
        record(stream, advance(runtime, spec, [stream])[0], spec)
    return stream


class Engine:
    """Steps every active stream of one model, back to back, on a dedicated thread.

    The thread never waits for the event loop: after each step it hands each stream's new text
    to the stream's event loop in one call, and carries on with the next step.
    """

    def __init__(
        self,
        runtime: Runtime,
        spec: GeneratePreprocessing,
        max_streams: int,
        observer: BatchObserver | None = None,
    ) -> None:
        self.runtime, self.spec, self.max_streams = runtime, spec, max_streams
        self._observer = observer
        self._changed = threading.Condition()
        self._waiting: list[tuple[Stream, float]] = []
        self._open = 0  # streams started and not yet finished or dropped
        self._thread: threading.Thread | None = None

    def start(self, stream: Stream) -> Stream:
        stream.loop = asyncio.get_running_loop()
        with self._changed:
            if self._open >= self.max_streams:
                raise Overloaded("generate")
            self._open += 1
            self._waiting.append((stream, time.perf_counter()))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="generate", daemon=True)
                self._thread.start()
            self._changed.notify()
        return stream

    def _run(self) -> None:
        active: list[Stream] = []
        while True:
            with self._changed:
                while not self._waiting and not active:
                    if not self._changed.wait(IDLE_THREAD_SECONDS) and not self._waiting:
                        self._thread = None  # idle: start() makes another (see batching.py)
                        return
                waited = max((time.perf_counter() - t for _, t in self._waiting), default=0.0)
                active += [stream for stream, _ in self._waiting]
                self._waiting.clear()
            dropped = [s for s in active if s.cancelled]
            active = [s for s in active if not s.cancelled]
            if active:
                _, stages = timed_batch(partial(self._step, active), len(active))
                if self._observer is not None:
                    self._observer.observe_batch("generate", waited, stages)
            done = [s for s in active if s.finish_reason is not None]
            active = [s for s in active if s.finish_reason is None]
            with self._changed:
                self._open -= len(dropped) + len(done)

    def _step(self, streams: list[Stream]) -> None:
        try:
            tokens = advance(self.runtime, self.spec, streams)
        except Exception as exc:  # a failed model call ends these streams, not the engine
            for stream in streams:
                stream.cancelled = True  # dropped at the next step
                _deliver(stream, ("", None, exc))
            return
        for stream, token in zip(streams, tokens, strict=True):
            record(stream, token, self.spec)
            _deliver(stream, (stream.pending_text(), stream.finish_reason, None))


def _deliver(stream: Stream, update: Update) -> None:
    assert stream.loop is not None
    try:
        stream.loop.call_soon_threadsafe(stream.updates.put_nowait, update)
    except RuntimeError:  # the client's event loop has closed: nobody is listening
        stream.cancelled = True


async def pieces(stream: Stream) -> AsyncIterator[str]:
    """The stream's text as it is made; marks the stream cancelled if the consumer stops.

    One piece per character while the reader keeps up; a reader that falls behind (a busy event
    loop, many streams) gets everything made meanwhile as one piece, so the number of events,
    and the cost of writing them, stays bounded by how fast the reader can go.
    """
    finished = False
    try:
        while not finished:
            updates = [await stream.updates.get()]
            while not stream.updates.empty():
                updates.append(stream.updates.get_nowait())
            for _, _, error in updates:
                if error is not None:
                    raise error
            finished = updates[-1][1] is not None
            if piece := "".join(text for text, _, _ in updates):
                yield piece
    finally:
        stream.cancelled = not finished
