"""Log-probabilities of text under a character model: OpenAI's `logprobs` and `echo` scoring.

One pass of the model over the whole text gives the distribution after every character, the
same (raw, before temperature and penalties) that generation sampled from.
"""

from __future__ import annotations

import numpy as np

from app.openai_api.schemas import Logprobs
from app.tasks.generate import GeneratePredictor


def score(model: GeneratePredictor, context: str, text: str, top: int) -> Logprobs:
    """Each character of `text`, read after `context`: its log-probability and the `top` most
    likely alternatives. A character with nothing before it, or one the model does not know,
    has none."""
    index, vocabulary = model.index, model.spec.vocabulary
    ids = [index[c] for c in context if c in index]
    positions = []  # where each character of `text` sits in `ids` (None: not in the vocabulary)
    for char in text:
        positions.append(len(ids) if char in index else None)
        if char in index:
            ids.append(index[char])
    table = _log_softmax(model, ids)
    token_logprobs: list[float | None] = []
    top_logprobs: list[dict[str, float] | None] = []
    for char, at in zip(text, positions, strict=True):
        if at is None or at == 0:
            token_logprobs.append(None)
            top_logprobs.append(None)
            continue
        row = table[at - 1]
        token_logprobs.append(float(row[index[char]]))
        best = np.argsort(-row, kind="stable")[:top]
        top_logprobs.append({vocabulary[i]: float(row[i]) for i in best})
    offsets = list(range(len(text)))
    return Logprobs(
        tokens=list(text),
        token_logprobs=token_logprobs,
        top_logprobs=top_logprobs,
        text_offset=offsets,
    )


def _log_softmax(model: GeneratePredictor, ids: list[int]) -> np.ndarray:
    """[len(ids), vocabulary]: log-probabilities of the next character after each one."""
    if not ids:
        return np.zeros((0, len(model.spec.vocabulary)))
    spec = model.spec
    feed = {f"state_{k}": np.zeros((1, spec.units), np.float32) for k in range(spec.state_count)}
    logits = model.runtime.run({"char_ids": np.array([ids], dtype=np.int32), **feed})[0][0]
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
