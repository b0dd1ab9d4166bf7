"""app/sampling.py: greedy, top-k, nucleus, seeding and never sampling what was filtered out."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.sampling import next_token

# Distinct values a quarter apart: "the" argmax and "the" top k are well defined, and no two
# probabilities round to the same float after the softmax.
finite_logits = arrays(
    np.int64, st.integers(2, 40), elements=st.integers(-120, 120), unique=True
).map(lambda a: a / 4.0)


@given(finite_logits, st.integers(0, 2**32))
def test_temperature_zero_is_argmax(logits: np.ndarray, seed: int) -> None:
    assert next_token(logits, np.random.default_rng(seed), temperature=0) == np.argmax(logits)


@given(finite_logits, st.integers(0, 2**32), st.floats(0.1, 5))
def test_top_k_one_is_greedy(logits: np.ndarray, seed: int, temperature: float) -> None:
    rng = np.random.default_rng(seed)
    assert next_token(logits, rng, temperature=temperature, top_k=1) == np.argmax(logits)


@given(finite_logits, st.integers(0, 2**32))
def test_tiny_top_p_is_greedy(logits: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    assert next_token(logits, rng, temperature=1.0, top_p=1e-9) == np.argmax(logits)


@given(finite_logits, st.integers(0, 2**32), st.integers(1, 5))
def test_top_k_never_samples_outside_the_k_likeliest(logits: np.ndarray, seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    allowed = set(np.argsort(-logits)[:k].tolist())
    assert all(next_token(logits, rng, top_k=k) in allowed for _ in range(20))


@settings(max_examples=50)
@given(st.integers(0, 2**32), st.lists(st.booleans(), min_size=2, max_size=30))
def test_zero_probability_tokens_are_never_sampled(seed: int, mask: list[bool]) -> None:
    if not any(mask):
        mask[0] = True
    logits = np.where(mask, 0.0, -np.inf)  # -inf logit = probability exactly zero
    rng = np.random.default_rng(seed)
    assert all(mask[next_token(logits, rng)] for _ in range(50))


def test_same_seed_same_tokens() -> None:
    logits = np.linspace(-1, 1, 50)

    def draw(seed: int) -> list[int]:
        rng = np.random.default_rng(seed)
        return [next_token(logits, rng, temperature=1.3, top_k=20, top_p=0.9) for _ in range(200)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)


def test_sampling_follows_the_softmax() -> None:
    logits = np.log(np.array([0.1, 0.2, 0.7]))
    rng = np.random.default_rng(0)
    counts = np.bincount([next_token(logits, rng) for _ in range(20_000)], minlength=3)
    assert counts / counts.sum() == pytest.approx([0.1, 0.2, 0.7], abs=0.015)


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    rng = np.random.default_rng(0)
    seen = {next_token(logits, rng, top_p=0.75) for _ in range(2_000)}
    assert seen == {0, 1}  # 0.5 alone falls short of 0.75, 0.5 + 0.3 reaches it
