"""Choosing the next token from a model's logits: greedy, temperature, top-k and nucleus (top-p),
after the repetition, frequency and presence penalties.

Pure numpy with an explicit generator per request, so the same seed and parameters give the same
text no matter what else runs at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def next_token(
    logits: np.ndarray,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
) -> int:
    """One token id from a 1-D logits vector. temperature 0 means greedy; top_k 0 means off."""
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    scaled = logits / temperature
    if 0 < top_k < scaled.size:
        kth_largest = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled < kth_largest, -np.inf, scaled)
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if top_p < 1.0:
        probs = _nucleus(probs, top_p)
    # Inverse-CDF sampling with one uniform draw: cheaper than rng.choice and just as exact.
    cumulative = np.cumsum(probs)
    index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return min(index, probs.size - 1)


class TokenHistory:
    """What the penalties need to know about one stream: which tokens occurred, how often.

    `seen` covers the prompt and the generated tokens (the repetition penalty, as in TGI and
    Hugging Face); `counts` covers the generated tokens only (frequency and presence penalties,
    as in OpenAI and vLLM).
    """

    def __init__(self, vocab_size: int, prompt_ids: np.ndarray) -> None:
        self.seen = np.zeros(vocab_size, dtype=bool)
        self.seen[np.asarray(prompt_ids, dtype=np.int64)] = True
        self.counts = np.zeros(vocab_size, dtype=np.int64)

    def add(self, token: int) -> None:
        self.seen[token] = True
        self.counts[token] += 1


def penalise(
    logits: np.ndarray,
    history: TokenHistory,
    repetition_penalty: float = 1.0,
    frequency_penalty: float = 0.0,
    presence_penalty: float = 0.0,
) -> np.ndarray:
    """Logits with the penalties applied; 1.0, 0 and 0 leave them as they are.

    repetition_penalty divides the positive logits of tokens seen so far and multiplies the
    negative ones (either way they get less likely for a penalty above 1). frequency_penalty
    subtracts penalty x times-generated, presence_penalty subtracts the penalty once per token
    generated at least once.
    """
    out = np.asarray(logits, dtype=np.float64)
    if repetition_penalty != 1.0:
        seen = out[history.seen]
        out = out.copy()
        out[history.seen] = np.where(seen > 0, seen / repetition_penalty, seen * repetition_penalty)
    if frequency_penalty or presence_penalty:
        out = out - frequency_penalty * history.counts - presence_penalty * (history.counts > 0)
    return out


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """A sampled token's log-probability and the likeliest alternatives, best first."""

    token: int
    logprob: float
    top: tuple[tuple[int, float], ...]


def token_logprob(logits: np.ndarray, token: int, top: int) -> TokenLogprob:
    """Under the model's own distribution: before temperature, top-k, top-p and penalties
    (what the model thinks, not what the sampler was told to do; as /v1/completions reports)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max()
    log_probs = shifted - np.log(np.exp(shifted).sum())
    best = np.argsort(-log_probs, kind="stable")[:top]
    alternatives = tuple((int(i), float(log_probs[i])) for i in best)
    return TokenLogprob(token, float(log_probs[token]), alternatives)


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose total probability reaches top_p."""
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep = int(np.searchsorted(cumulative, top_p)) + 1
    kept = np.zeros_like(probs)
    kept[order[:keep]] = probs[order[:keep]]
    return kept / kept.sum()
