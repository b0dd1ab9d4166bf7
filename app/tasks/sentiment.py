"""Sentiment: the label of each text ("negative" or "positive") and the probability of each label.

Texts are tokenised and encoded by app/preprocessing.py with the vocabulary (and, for a model
with a wide part, the n-gram hashing) described by the artifact, exactly as in training. The
recurrent part reads the last `max_length` tokens of a text, the wide part the last
`ngram_tokens`. Models trained since calibration was added return calibrated probabilities.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, Self

import numpy as np

from app.artifacts import Metadata, SentimentPreprocessing, read_vocab
from app.batching import Batching
from app.config import Settings
from app.drift import InputProfile, sentiment_statistics
from app.exceptions import ErrorDetail, InvalidRequest
from app.preprocessing import sentiment_inputs, vocab_index
from app.runtime import Runtime, check_inputs
from app.schemas.sentiment import SentimentPrediction, SentimentRequest, prediction
from app.tasks.base import ModelInfo, TaskDeclaration


class Classifier(Protocol):
    @property
    def info(self) -> ModelInfo: ...

    async def classify(self, texts: Sequence[str]) -> list[SentimentPrediction]: ...

    def warm_up(self) -> None: ...


def check_limits(request: SentimentRequest, settings: Settings) -> None:
    problems = []
    if request.texts is not None and len(request.texts) > settings.max_texts:
        message = f"at most {settings.max_texts} texts, got {len(request.texts)}"
        problems.append(ErrorDetail(field="body.texts", message=message))
    for i, text in enumerate(request.all_texts):
        if len(text) > settings.max_text_chars:
            field = "body.text" if request.text is not None else f"body.texts[{i}]"
            message = f"at most {settings.max_text_chars} characters, got {len(text)}"
            problems.append(ErrorDetail(field=field, message=message))
    if problems:
        raise InvalidRequest(problems)


class SentimentPredictor:
    def __init__(
        self,
        runtime: Runtime,
        spec: SentimentPreprocessing,
        vocabulary: list[str],
        info: ModelInfo,
        batching: Batching | None = None,
        reference: Mapping[str, Sequence[float]] | None = None,
    ) -> None:
        self.runtime, self.spec, self.info = runtime, spec, info
        self.profile = InputProfile("sentiment", reference)  # what it is sent (app/drift.py)
        self.index = vocab_index(vocabulary, spec)
        self._batcher = (batching or Batching()).batcher("sentiment", self.predict_jobs)

    @classmethod
    def from_artifact(
        cls, version_dir: Path, metadata: Metadata, runtime: Runtime, batching: Batching
    ) -> Self:
        spec = metadata.preprocessing
        if not isinstance(spec, SentimentPreprocessing):
            raise ValueError(f"metadata describes a {spec.kind} model, not a classifier")
        check_inputs(runtime, ("token_ids", "ngram_ids") if spec.ngram_tokens else ("token_ids",))
        vocabulary = read_vocab(version_dir, spec)
        info = ModelInfo.from_metadata(
            metadata,
            runtime.kind,
            max_length_tokens=spec.max_length,
            labels=list(spec.labels),
            vocabulary_size=len(vocabulary),
        )
        return cls(runtime, spec, vocabulary, info, batching, metadata.input_profile)

    async def classify(self, texts: Sequence[str]) -> list[SentimentPrediction]:
        """Queued with concurrent requests; tokenising happens in the batch thread too."""
        return await self._batcher.submit(texts, rows=len(texts))

    def predict_jobs(self, jobs: Sequence[Sequence[str]]) -> list[list[SentimentPrediction]]:
        predictions = self.predict([text for texts in jobs for text in texts], observe=True)
        bounds = np.cumsum([0] + [len(texts) for texts in jobs])
        return [predictions[a:b] for a, b in itertools.pairwise(bounds)]

    def predict(self, texts: Sequence[str], observe: bool = False) -> list[SentimentPrediction]:
        inputs = sentiment_inputs(texts, self.index, self.spec)
        positive = np.clip(np.asarray(self.runtime.run(inputs)[0], dtype=np.float64)[:, 0], 0, 1)
        if observe:
            spec = self.spec
            ids = inputs["token_ids"]
            self.profile.observe(sentiment_statistics(ids, spec.pad_id, spec.oov_id, positive))
        return [prediction(float(p), self.spec.labels) for p in positive]

    def warm_up(self) -> None:
        self.predict(["warm up"])


DECLARATION = TaskDeclaration(
    "sentiment",
    SentimentPredictor.from_artifact,
    "app.routes.sentiment:router",
    parallel_runtime=True,
)
