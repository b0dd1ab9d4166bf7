"""Preprocessing shared by training and serving: pure functions, parametrised and property-based."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.artifacts import ForecastPreprocessing, GeneratePreprocessing, SentimentPreprocessing
from app.forecast_base import pad_left
from app.preprocessing import (
    ForecastInputs,
    apply_correction,
    char_index,
    decode_ids,
    encode_chars,
    encode_text,
    forecast_inputs,
    ngram_ids,
    sentiment_inputs,
    tokenize,
    vocab_index,
)
from training.data.competitions import Problem
from training.data.windows import encode
from training.data.windows import test_samples as official_samples

FORECAST = ForecastPreprocessing(
    window=48,
    patch=24,
    horizon=12,
    history=256,
    min_length=6,
    max_season=24,
    correction_bound=5.0,
    min_relative_scale=1e-12,
)
SENTIMENT = SentimentPreprocessing(max_length=5)
GENERATE = GeneratePreprocessing(vocabulary="\n ab", cell="gru", layers=1, units=4)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
any_series = st.integers(FORECAST.min_length, 400).flatmap(
    lambda n: arrays(np.float64, n, elements=finite)
)


@given(st.lists(any_series, min_size=1, max_size=4), st.sampled_from([0, 1, 4, 12]))
def test_forecast_inputs_are_finite_float32_and_the_base_is_finite(
    series: list[np.ndarray], season: int
) -> None:
    inputs = forecast_inputs(series, np.full(len(series), season), FORECAST)
    for name, width in (("window", 48), ("observed", 48), ("context", FORECAST.context_size)):
        array = inputs.arrays[name]
        assert array.dtype == np.float32 and array.shape == (len(series), width)
        assert np.isfinite(array).all()
    assert np.isfinite(inputs.base).all() and (inputs.scale > 0).all()
    assert set(inputs.seasons) <= {1, season} if season else (inputs.seasons >= 1).all()


@pytest.mark.parametrize(
    ("corrected", "kept"),
    [
        (None, [True, True, True]),
        ((), [False, False, False]),
        ((24,), [False, False, True]),
        ((1, 24), [True, False, True]),
    ],
)
def test_the_correction_applies_only_to_the_corrected_seasons(
    corrected: tuple[int, ...] | None, kept: list[bool]
) -> None:
    spec = FORECAST.model_copy(update={"corrected_seasons": corrected})
    base, scale = np.zeros((3, 2)), np.array([[1.0], [2.0], [3.0]])
    inputs = ForecastInputs({}, base, scale, seasons=np.array([1, 12, 24]))
    values = apply_correction(inputs, np.ones((3, 2), dtype=np.float32), spec)
    expected = np.where(np.array(kept)[:, None], scale * np.ones((3, 2)), 0.0)
    np.testing.assert_array_equal(values, expected)


@given(any_series)
def test_padding_repeats_the_first_value_and_counts_real_ones(series: np.ndarray) -> None:
    values, lengths = pad_left([series], 64)
    kept = series[-64:]
    assert lengths[0] == len(kept)
    np.testing.assert_array_equal(values[0, 64 - len(kept) :], kept)
    assert np.all(values[0, : 64 - len(kept)] == kept[0])


def test_forecast_inputs_do_not_depend_on_level_and_unit() -> None:
    rng = np.random.default_rng(0)
    series = [10 + rng.normal(size=n).cumsum() for n in (8, 50, 300)]
    a = forecast_inputs(series, np.zeros(3, dtype=np.int64), FORECAST)
    b = forecast_inputs([s * 1000 + 7e5 for s in series], np.zeros(3, dtype=np.int64), FORECAST)
    for name in a.arrays:
        np.testing.assert_allclose(a.arrays[name], b.arrays[name], atol=1e-4)
    np.testing.assert_allclose(b.base, a.base * 1000 + 7e5, rtol=1e-9)


def test_a_series_is_encoded_the_same_alone_or_with_others() -> None:
    rng = np.random.default_rng(1)
    series = [rng.normal(size=n).cumsum() for n in (6, 31, 33, 200, 257, 900)]
    together = forecast_inputs(series, np.array([0, 4, 0, 12, 0, 1]), FORECAST)
    for i, (one, code) in enumerate(zip(series, [0, 4, 0, 12, 0, 1], strict=True)):
        alone = forecast_inputs([one], np.array([code]), FORECAST)
        np.testing.assert_array_equal(alone.base[0], together.base[i])
        for name in alone.arrays:
            np.testing.assert_array_equal(alone.arrays[name][0], together.arrays[name][i])


def test_training_encodes_exactly_what_serving_does() -> None:
    """Training encodes numpy histories in chunks; serving gets JSON floats one request at a
    time. Both must give the network the same bits."""
    rng = np.random.default_rng(2)
    problems = [
        Problem("x", "monthly", 12, 12, 50 + rng.normal(size=n).cumsum(), np.zeros(12))
        for n in (6, 40, 130, 600)
    ]
    samples = official_samples(problems, FORECAST)
    trained = encode(samples, FORECAST)
    for i, problem in enumerate(problems):
        served = forecast_inputs([problem.history.tolist()], np.array([12]), FORECAST)
        np.testing.assert_array_equal(served.base[0], trained.base[i])
        for name in served.arrays:
            np.testing.assert_array_equal(served.arrays[name][0], trained.arrays[name][i])


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Great movie!", ["great", "movie", "!"]),
        ("I didn't<br /><br />like it?", ["i", "didn't", "like", "it", "?"]),
        ("Ünïcode CAFÉ, 10/10", ["ünïcode", "café", "10", "10"]),
        ("snake_case -- ...", ["snake", "case"]),
        ("", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_encode_text_keeps_the_last_tokens_and_pads_on_the_left() -> None:
    index = vocab_index(["good", "bad"], SENTIMENT)
    assert index == {"good": 2, "bad": 3}
    np.testing.assert_array_equal(encode_text("good movie", index, SENTIMENT), [0, 0, 0, 2, 1])
    long_text = "bad bad bad bad good good"
    np.testing.assert_array_equal(encode_text(long_text, index, SENTIMENT), [3, 3, 3, 2, 2])


WIDE = SentimentPreprocessing(max_length=5, ngram_tokens=3, ngram_buckets=1000)


def test_ngram_ids_are_pinned() -> None:
    """A saved model depends on these exact numbers (see hashed_ngrams): a change here would
    silently break every artifact already trained."""
    np.testing.assert_array_equal(ngram_ids(["not", "good"], WIDE), [1, 295, 196, 139, 0, 0])
    # Only the last `ngram_tokens` tokens count; the constant id 1 is always there.
    long = ngram_ids(["x", "y", "z", "not", "good"], WIDE)
    np.testing.assert_array_equal(long[[0, 2, 3, 5]], [1, 295, 196, 139])
    np.testing.assert_array_equal(ngram_ids([], WIDE), [1, 0, 0, 0, 0, 0])


@given(st.lists(st.text(min_size=1, max_size=8), max_size=10))
def test_ngram_ids_stay_in_range(tokens: list[str]) -> None:
    ids = ngram_ids(tokens, WIDE)
    used = min(len(tokens), WIDE.ngram_tokens)
    grams = 2 * used - 1 if used else 0
    assert ids.shape == (WIDE.ngram_length,) and ids[0] == 1
    assert ((ids[1 : 1 + grams] >= 2) & (ids[1 : 1 + grams] < 1002)).all()
    assert (ids[1 + grams :] == 0).all()


def test_sentiment_inputs_name_what_the_model_reads() -> None:
    index = vocab_index(["good"], WIDE)
    inputs = sentiment_inputs(["Not GOOD.", "good"], index, WIDE)
    np.testing.assert_array_equal(inputs["token_ids"][0], [0, 0, 0, 1, 2])
    np.testing.assert_array_equal(inputs["ngram_ids"][0], [1, 295, 196, 139, 0, 0])
    assert set(sentiment_inputs(["good"], index, SENTIMENT)) == {"token_ids"}  # no wide part
    assert sentiment_inputs([], index, WIDE)["ngram_ids"].shape == (0, 6)


@given(st.text(max_size=50))
def test_char_encoding_round_trips_known_characters(text: str) -> None:
    index = char_index(GENERATE)
    known = "".join(c for c in text if c in GENERATE.vocabulary)
    ids = encode_chars(text, index)
    assert ids.dtype == np.int32
    assert decode_ids(ids, GENERATE) == known
