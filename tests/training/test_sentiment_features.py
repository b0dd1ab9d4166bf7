"""Training's corpus-at-once n-gram hashing gives exactly serving's per-text ids."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from app.artifacts import SentimentPreprocessing
from app.preprocessing import hashed_ngrams, inputs_from_tokens
from training.sentiment_features import encode, hash_corpus, ngram_counts

SPEC = SentimentPreprocessing(max_length=4, ngram_tokens=3, ngram_buckets=50)
# Few distinct words, so repeated unigrams and bigrams (counts above 1) are common.
texts = st.lists(st.lists(st.sampled_from(["a", "b", "not", "good", "été", "!"]), max_size=7))


@given(texts)
def test_training_inputs_equal_what_serving_computes(tokenized: list[list[str]]) -> None:
    index = {"a": 2, "good": 3, "été": 4}
    inputs, _ = encode(tokenized, index, SPEC, "test")
    expected = inputs_from_tokens(tokenized, index, SPEC)
    assert inputs.keys() == expected.keys()
    for name, ids in inputs.items():
        np.testing.assert_array_equal(ids, expected[name])


@given(texts)
def test_counts_count_every_ngram_of_the_whole_text(tokenized: list[list[str]]) -> None:
    counts = ngram_counts(hash_corpus(tokenized, SPEC), SPEC).toarray()
    assert counts.shape == (len(tokenized), SPEC.ngram_buckets + 2)
    for row, tokens in zip(counts, tokenized, strict=True):
        expected = np.bincount(hashed_ngrams(tokens, SPEC), minlength=SPEC.ngram_buckets + 2)
        np.testing.assert_array_equal(row, expected)
