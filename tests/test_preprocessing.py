"""Preprocessing shared by training and serving: pure functions, parametrised and property-based."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.artifacts import ForecastPreprocessing, GeneratePreprocessing, SentimentPreprocessing
from app.preprocessing import (
    char_index,
    decode_ids,
    denormalise,
    encode_chars,
    encode_text,
    ngram_ids,
    normalise_windows,
    sentiment_inputs,
    tokenize,
    vocab_index,
)

FORECAST = ForecastPreprocessing(window=4, horizon=2, season=2, min_relative_scale=1e-3)
SENTIMENT = SentimentPreprocessing(max_length=5)
GENERATE = GeneratePreprocessing(vocabulary="\n ab", cell="gru", layers=1, units=4)

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@given(arrays(np.float64, (3, 4), elements=finite))
def test_window_scaling_round_trips_and_stays_finite(windows: np.ndarray) -> None:
    scaled, mean, scale = normalise_windows(windows, FORECAST)
    assert scaled.dtype == np.float32 and np.isfinite(scaled).all()
    # The model sees float32, so the round trip is exact to float32 precision of the scale.
    error = np.abs(denormalise(scaled, mean, scale) - windows)
    assert (error <= 1e-6 * scale).all()


@pytest.mark.parametrize("level", [0.0, 5.0, -3e6, 1e-9])
def test_flat_windows_map_to_zero(level: float) -> None:
    scaled, mean, _ = normalise_windows(np.full((1, 4), level), FORECAST)
    assert np.all(scaled == 0) and mean[0, 0] == pytest.approx(level)


def test_scaling_is_invariant_to_the_series_level_and_unit() -> None:
    window = np.array([[1.0, 3.0, 2.0, 5.0]])
    a, _, _ = normalise_windows(window, FORECAST)
    b, _, _ = normalise_windows(window * 1000 + 7e5, FORECAST)
    np.testing.assert_allclose(a, b, atol=1e-6)


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
