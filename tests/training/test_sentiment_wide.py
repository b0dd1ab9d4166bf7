"""The sentiment model's closed-form wide part and the mix of its two parts."""

from __future__ import annotations

import numpy as np
import pytest

from app.artifacts import SentimentPreprocessing
from app.preprocessing import inputs_from_tokens
from training.sentiment_wide import (
    Mix,
    WideWeights,
    fit_mix,
    fit_wide,
    log_count_ratio,
    mean_pool_features,
    wide_logits,
)

SPEC = SentimentPreprocessing(max_length=6, ngram_tokens=5, ngram_buckets=64)
TEXTS = [["a", "great", "film"], ["dull", "dull", "dull", "and", "long", "really"], ["ok"]]


def test_features_are_each_ids_share_of_the_texts_ngrams() -> None:
    ids = inputs_from_tokens(TEXTS, {}, SPEC)["ngram_ids"]
    features = mean_pool_features(ids, SPEC.ngram_buckets + 2).toarray()
    np.testing.assert_allclose(features.sum(axis=1), 1.0)
    # "dull" twice among the last 5 tokens' 5 unigrams, 4 bigrams and the constant id.
    dull = ids[1][1]
    assert features[1, dull] == pytest.approx(2 / 10)
    assert features[2].nonzero()[0].tolist() == sorted({1, int(ids[2][1])})


@pytest.mark.slow
def test_served_model_computes_the_fitted_wide_logit() -> None:
    """The Keras wide part (masked average of the table) equals the sparse product."""
    from training.sentiment import SentimentConfig, build, set_mix, set_wide

    config = SentimentConfig(
        vocab_size=10, max_length=6, embedding_dim=2, units=2, ngram_tokens=5, ngram_buckets=64
    )
    rng = np.random.default_rng(0)
    wide = WideWeights(rng.normal(size=66).astype(np.float32), 0.3)
    _, served = build(config)
    set_wide(served, wide)
    set_mix(served, Mix((0.0, 1.0), 0.0))  # the wide part alone
    inputs = inputs_from_tokens(TEXTS, {}, SPEC)
    expected = wide_logits(wide, mean_pool_features(inputs["ngram_ids"], 66))
    got = np.asarray(served(inputs))[:, 0]
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-expected)), atol=1e-6)


def _toy(rng: np.random.Generator, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Texts of neutral ids 10..39 with one of id 2 (positive) or id 3 (negative)."""
    labels = rng.integers(0, 2, n)
    ids = rng.integers(10, 40, size=(n, 8))
    ids[:, 0] = np.where(labels == 1, 2, 3)
    return ids, labels


def test_wide_fit_weighs_the_telling_ngrams_and_predicts_unseen_texts() -> None:
    rng = np.random.default_rng(1)
    ids, labels = _toy(rng)
    features = mean_pool_features(ids, 40)
    ratio = log_count_ratio(features, labels)
    assert ratio[2] > 2 and ratio[3] < -2 and np.abs(ratio[10:]).max() < 1
    wide = fit_wide(features, labels, c=1.0, feature_scale=100.0)
    assert wide.table[2] > 0 > wide.table[3]
    test_ids, test_labels = _toy(rng)
    logits = wide_logits(wide, mean_pool_features(test_ids, 40))
    assert ((logits > 0) == test_labels).mean() == 1.0


def test_mix_trusts_the_informative_part_and_ignores_noise() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 2000)
    informative = (2 * labels - 1) * 1.5 + rng.normal(size=2000)
    noise = rng.normal(scale=3, size=2000)
    mix = fit_mix(noise, informative, labels)
    assert mix.weights[1] == pytest.approx(3.0, rel=0.2)  # the true log-odds slope: 2 * 1.5
    assert abs(mix.weights[0]) < 0.1
