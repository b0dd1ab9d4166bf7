"""app/sampling.py: greedy, top-k, nucleus, seeding, never sampling what was filtered out, and
the repetition, frequency and presence penalties."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.artifacts import GeneratePreprocessing
from app.generation import Sampling, Stream, generate_now
from app.sampling import TokenHistory, next_token, penalise, token_logprob

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


# --- penalties ------------------------------------------------------------------------------


@given(finite_logits, st.lists(st.integers(0, 39), max_size=30))
def test_penalties_that_are_off_change_nothing(logits: np.ndarray, tokens: list[int]) -> None:
    history = TokenHistory(logits.size, np.array([0]))
    for token in tokens:
        history.add(token % logits.size)
    np.testing.assert_array_equal(penalise(logits, history), logits)


@given(finite_logits, st.floats(1.0, 10.0), st.integers(0, 39))
def test_repetition_penalty_makes_seen_tokens_less_likely(
    logits: np.ndarray, penalty: float, token: int
) -> None:
    token %= logits.size
    history = TokenHistory(logits.size, np.array([token]))  # seen in the prompt only
    out = penalise(logits, history, repetition_penalty=penalty)
    assert out[token] <= logits[token]
    assert out[token] == (logits[token] / penalty if logits[token] > 0 else logits[token] * penalty)
    unseen = np.arange(logits.size) != token
    np.testing.assert_array_equal(out[unseen], logits[unseen])


def test_frequency_and_presence_penalties_count_generated_tokens_only() -> None:
    history = TokenHistory(4, np.array([3]))  # token 3 is only in the prompt
    for token in (0, 0, 0, 1):
        history.add(token)
    out = penalise(np.zeros(4), history, frequency_penalty=0.5, presence_penalty=0.25)
    np.testing.assert_allclose(out, [-3 * 0.5 - 0.25, -0.5 - 0.25, 0.0, 0.0])
    assert penalise(np.zeros(4), history, presence_penalty=-1.0)[0] == 1.0  # negative: encourage


class LoopingModel:
    """A step model that has learnt one phrase too well: it always continues `LOOP`.

    Its state is the position in the phrase; the next character of the phrase gets logit 4,
    every other character 1, as a model stuck in "the state of the state of ..." does.
    """

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        ids, position = inputs["char_ids"], inputs["state_0"]
        batch, steps = ids.shape
        logits = np.ones((batch, steps, len(VOCABULARY)), np.float32)
        for b in range(batch):
            for t in range(steps):
                next_char = LOOP[(int(position[b, 0]) + t + 1) % len(LOOP)]
                logits[b, t, VOCABULARY.index(next_char)] = 4.0
        return [logits, position + steps]


LOOP = "the state of "
VOCABULARY = "".join(sorted(set(LOOP + "ROMEO:\nxyz")))


def greedy(prompt: str, **penalties: float) -> str:
    spec = GeneratePreprocessing(vocabulary=VOCABULARY, cell="gru", layers=1, units=1)
    ids = np.array([VOCABULARY.index(c) for c in prompt], dtype=np.int32)
    # The prompt "ROMEO:" leaves the phrase at position len(prompt) - 1, as in the issue.
    stream = Stream(ids, Sampling(120, temperature=0, **penalties), np.random.default_rng(0))
    return generate_now(LoopingModel(), spec, stream).text


def test_a_frequency_penalty_takes_greedy_decoding_out_of_its_loop() -> None:
    assert greedy("ROMEO:") == (LOOP * 10)[6:126]  # without a penalty: the loop for ever
    text = greedy("ROMEO:", frequency_penalty=0.5)
    assert LOOP * 2 not in text  # out, and it never goes back: every repeat costs more
    assert any(c in text for c in "ROMEO:\nxyz")  # it says something else instead


@pytest.mark.parametrize(
    "penalties", [{"presence_penalty": 3.5}, {"repetition_penalty": 5.0}], ids=str
)
def test_presence_and_repetition_penalties_break_the_loop_until_every_character_is_used(
    penalties: dict[str, float],
) -> None:
    """With characters for tokens, these penalties soon apply to the whole alphabet, and a
    penalty on every character changes nothing: the loop comes back (README says so)."""
    text = greedy("ROMEO:", **penalties)
    assert LOOP not in text[:20]  # left at once for characters not used yet
    assert LOOP * 2 in text[-40:]


float32_logits = arrays(
    np.float32,
    st.integers(2, 40),
    elements=st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@given(
    float32_logits,
    st.floats(0.1, 10),
    st.floats(-2, 2),
    st.floats(-2, 2),
    st.one_of(st.just(0.0), st.floats(0.01, 5.0)),
    st.integers(0, 2**32),
)
def test_any_model_logits_with_penalties_in_range_sample_a_valid_token(
    logits: np.ndarray,
    repetition: float,
    frequency: float,
    presence: float,
    temperature: float,
    seed: int,
) -> None:
    # The request bounds must keep the arithmetic finite for every logit a float32 model emits.
    history = TokenHistory(logits.size, np.array([0]))
    history.add(logits.size - 1)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # underflow to 0 is fine
        out = penalise(logits, history, repetition, frequency, presence)
        assert np.isfinite(out).all()
        token = next_token(out, np.random.default_rng(seed), temperature)
    assert 0 <= token < logits.size


@given(finite_logits, st.integers(0, 39), st.integers(0, 20))
def test_token_logprob_is_a_normalised_log_softmax_with_the_likeliest_first(
    logits: np.ndarray, token: int, top: int
) -> None:
    token %= logits.size
    entry = token_logprob(logits, token, top)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    assert np.isclose(entry.logprob, np.log(probs[token]))
    assert len(entry.top) == min(top, logits.size)
    assert [i for i, _ in entry.top] == list(np.argsort(-probs, kind="stable")[:top])
    assert all(a >= b for (_, a), (_, b) in zip(entry.top, entry.top[1:], strict=False))
