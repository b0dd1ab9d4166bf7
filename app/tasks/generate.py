"""Text generation with a character-level step model that carries its recurrent state.

The prompt runs through the model once; then each new character costs one step fed with the
previous state. Characters the model never saw are dropped from the prompt (the model has no id
for them); a prompt left empty by that, or sent empty, starts from the model's start text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, Self

import numpy as np

from app.artifacts import GeneratePreprocessing, Metadata
from app.batching import Batching
from app.config import Settings
from app.drift import InputProfile, generate_statistics
from app.exceptions import ErrorDetail, InvalidRequest
from app.generation import Engine, Sampling, Stream, generate_now, pieces
from app.preprocessing import char_index, encode_chars
from app.runtime import Runtime, check_inputs
from app.sampling import TokenLogprob
from app.schemas.generate import GenerateRequest
from app.tasks.base import ModelInfo, TaskDeclaration


class Generation(NamedTuple):
    text: str
    finish_reason: Literal["length", "stop"]
    tokens: int
    logprobs: list[TokenLogprob]


class Generator(Protocol):
    @property
    def info(self) -> ModelInfo: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def vocabulary(self) -> str: ...

    def start(self, request: GenerateRequest) -> Stream: ...

    async def generate(self, request: GenerateRequest) -> Generation: ...

    def warm_up(self) -> None: ...


def check_limits(request: GenerateRequest, model: Generator, settings: Settings) -> None:
    checks = [
        ("prompt", len(request.prompt), settings.max_prompt_chars, "characters"),
        ("max_tokens", request.max_tokens, settings.max_tokens, ""),
        ("temperature", request.temperature, settings.max_temperature, ""),
        ("top_k", request.top_k, model.vocab_size, "(the model's vocabulary size)"),
        ("stop", len(request.stop), settings.max_stop_sequences, "sequences"),
    ]
    checks += [
        (f"stop[{i}]", len(s), settings.max_stop_chars, "characters")
        for i, s in enumerate(request.stop)
    ]
    problems = [
        ErrorDetail(field=f"body.{field}", message=f"must be at most {limit} {unit}".rstrip())
        for field, value, limit, unit in checks
        if value > limit
    ]
    if problems:
        raise InvalidRequest(problems)


class GeneratePredictor:
    def __init__(
        self,
        runtime: Runtime,
        spec: GeneratePreprocessing,
        info: ModelInfo,
        batching: Batching | None = None,
        reference: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        self.runtime, self.spec, self.info = runtime, spec, info
        self.profile = InputProfile("generate", reference)  # what it is sent (app/drift.py)
        self.index = char_index(spec)
        self.vocabulary, self.vocab_size = spec.vocabulary, len(spec.vocabulary)
        batching = batching or Batching()
        self.engine = Engine(runtime, spec, batching.limits.max_streams, batching.observer)

    @classmethod
    def from_artifact(
        cls, version_dir: Path, metadata: Metadata, runtime: Runtime, batching: Batching
    ) -> Self:
        spec = metadata.preprocessing
        if not isinstance(spec, GeneratePreprocessing):
            raise ValueError(f"metadata describes a {spec.kind} model, not a generator")
        check_inputs(runtime, ("char_ids", *(f"state_{k}" for k in range(spec.state_count))))
        info = ModelInfo.from_metadata(
            metadata,
            runtime.kind,
            vocabulary=spec.vocabulary,
            start_text=spec.start_text,
            cell=spec.cell,
            layers=spec.layers,
            units=spec.units,
        )
        return cls(runtime, spec, info, batching, metadata.input_profile)

    def _prompt_ids(self, prompt: str) -> np.ndarray:
        ids = encode_chars(prompt, self.index)
        if ids.size == 0:
            ids = encode_chars(self.spec.start_text, self.index)
        # A start text the model does not know either: begin from its first character.
        return ids if ids.size else np.zeros(1, dtype=np.int32)

    def _stream(self, request: GenerateRequest) -> Stream:
        sampling = Sampling(
            request.max_tokens,
            request.temperature,
            request.top_k,
            request.top_p,
            request.seed,
            tuple(request.stop),
            request.repetition_penalty,
            request.frequency_penalty,
            request.presence_penalty,
            request.logprobs,
        )
        ids = self._prompt_ids(request.prompt)
        return Stream(ids, sampling, np.random.default_rng(request.seed))

    def start(self, request: GenerateRequest) -> Stream:
        """Join the engine's batch; read the text with app.generation.pieces(stream)."""
        self.profile.observe(generate_statistics([request.prompt], self.index))
        stream = self._stream(request)
        return self.engine.start(stream)

    async def generate(self, request: GenerateRequest) -> Generation:
        stream = self.start(request)
        async for _ in pieces(stream):
            pass
        return _generation(stream)

    def complete(self, request: GenerateRequest) -> Generation:
        """The same generation, alone and in the calling thread (warm-up, scripts, tests)."""
        return _generation(generate_now(self.runtime, self.spec, self._stream(request)))

    def warm_up(self) -> None:
        self.complete(GenerateRequest(prompt=self.spec.vocabulary[:2], max_tokens=2, seed=0))


def _generation(stream: Stream) -> Generation:
    return Generation(stream.text, stream.finish_reason or "length", stream.tokens, stream.logprobs)


DECLARATION = TaskDeclaration(
    "generate",
    GeneratePredictor.from_artifact,
    "app.routes.generate:router",
    extra_routers=("app.routes.openai:router",),
)
