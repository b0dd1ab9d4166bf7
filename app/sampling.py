"""Choosing the next token from a model's logits: greedy, temperature, top-k and nucleus (top-p).

Pure numpy with an explicit generator per request, so the same seed and parameters give the same
text no matter what else runs at the same time.
"""

from __future__ import annotations

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


def _nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    """Keep the smallest set of most likely tokens whose total probability reaches top_p."""
    order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep = int(np.searchsorted(cumulative, top_p)) + 1
    kept = np.zeros_like(probs)
    kept[order[:keep]] = probs[order[:keep]]
    return kept / kept.sum()
