"""Train a sentiment classifier: raw review text in, calibrated probability of each label out.

Two parts in one Keras model, mixed before the sigmoid: a recurrent part (LSTM or GRU over word
ids), trained by gradient descent, and a wide part (one weight per hashed unigram and bigram,
averaged, as fastText does without its hidden layer), fitted in closed form as an NB-weighted
logistic regression (training/sentiment_wide.py). The mix of the two logits is fitted on the
validation texts, which calibrates it too. Text standardisation, tokenisation and n-gram hashing
live in app/preprocessing.py and the vocabulary is saved with the model, so serving computes
exactly the inputs the model was trained on. Random short spans of the training reviews, with the
review's label, are trained on beside whole reviews, so short texts are read well too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from scipy import sparse
from tqdm import tqdm

from app.artifacts import VOCAB_FILE, Metadata, SentimentPreprocessing
from app.config import PROJECT_ROOT
from app.drift import reference_profile, sentiment_statistics
from app.preprocessing import sentiment_inputs, tokenize, vocab_index
from training.common import describe, fit_and_reload_best, plot_history, seed_everything
from training.data.text import SentimentData, load_imdb, load_sentiment_csv
from training.export import publish, save_keras_and_onnx, staging_dir
from training.plots import plot_roc
from training.sentiment_eval import (
    classification_metrics,
    plot_reliability,
    probe_accuracy,
    read_probe,
    tfidf_baseline,
)
from training.sentiment_features import encode, hash_corpus, ngram_counts
from training.sentiment_wide import (
    Mix,
    WideWeights,
    fit_mix,
    fit_wide,
    mean_pool_features,
    wide_logits,
)


@dataclass
class SentimentConfig:
    dataset: str = "imdb"  # imdb | csv (then set data_file, optionally test_file)
    data_file: Path | None = None  # a user's CSV with `text` and `label` columns
    test_file: Path | None = None  # held-out CSV; without it 20% of data_file is held out
    vocab_size: int = 20_000  # most frequent training tokens; the rest map to one OOV id
    max_length: int = 300  # tokens per text the recurrent part reads (the last ones)
    embedding_dim: int = 64
    cell: str = "lstm"  # lstm | gru
    layers: int = 1
    units: int = 64
    bidirectional: bool = False
    dropout: float = 0.3
    ngram_tokens: int = 600  # the wide part reads the unigrams and bigrams of this many tokens
    ngram_buckets: int = 2**20  # hash buckets for them (collisions are rare at this size)
    wide_c: float = 1.0  # inverse L2 penalty of the wide part's logistic regression
    wide_feature_scale: float = 100.0  # multiplies the n-gram shares before that fit
    spans_per_text: int = 1  # short random spans of each training text, beside the whole text
    # A span's label is its review's, often wrong for a span of plot summary: spans count less.
    span_weight: float = 0.25
    span_tokens: tuple[int, int] = (3, 30)  # shortest and longest span, in tokens
    validation_fraction: float = 0.1  # of the training texts: best epoch and calibration
    # Fixed, so results do not depend on speed. 1 epoch: IMDB 90.97%, ECE 0.0115, probe 80.0%;
    epochs: int = 1  # 2 epochs: 90.83%, 0.0104, 81.7% for twice the recurrent part's time
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 1
    time_budget: float = 0.0  # seconds of fitting at most; 0 = none (only as an explicit option)
    seed: int = 42
    baseline_c: float = 16.0  # inverse regularisation of the TF-IDF + logistic regression baseline
    # Short hand-labelled texts, reported beside the test metrics (never used for a choice).
    probe_file: Path | None = PROJECT_ROOT / "tests/data/sentiment_probe.csv"


CONFIG = SentimentConfig
# The metrics `python -m training` prints after a run.
HEADLINE = ("accuracy", "f1", "roc_auc")
# Overrides of CONFIG's defaults per preset (`default` is CONFIG itself).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {  # seconds: for tests and smoke runs
        "vocab_size": 500,
        "max_length": 32,
        "embedding_dim": 8,
        "units": 8,
        "ngram_tokens": 32,
        "ngram_buckets": 4096,
        "epochs": 1,
    },
    "full": {  # the best quality we reach on a CPU, in tens of minutes
        "bidirectional": True,
        "units": 128,
        "max_length": 400,
        "ngram_tokens": 1000,
        "spans_per_text": 2,
        "epochs": 6,
        "patience": 2,
    },
}


def load(config: SentimentConfig, data_dir: Path, download: bool) -> SentimentData:
    if config.dataset == "imdb":
        return load_imdb(data_dir, download)
    if config.data_file is None:
        raise ValueError("dataset 'csv' needs --data-file")
    return load_sentiment_csv(config.data_file, config.test_file, config.seed)


def build_vocabulary(tokenized: list[list[str]], size: int) -> list[str]:
    """The `size` most frequent tokens, ties broken alphabetically so runs are reproducible."""
    counts = Counter(token for tokens in tokenized for token in tokens)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, _ in ranked[:size]]


def build(config: SentimentConfig) -> tuple[keras.Model, keras.Model]:
    """(the recurrent part alone, as trained: token ids in, P(positive) out; the model served).

    The model served shares the recurrent part's layers and adds the wide part and the mix,
    which are fitted in closed form and set with set_wide() and set_mix(): nothing there is
    trained by gradient descent, so the wide part's million weights cost the fit nothing.
    """
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")
    ngram_ids = keras.Input((None,), dtype="int32", name="ngram_ids")
    # +2: ids 0 and 1 are padding and out-of-vocabulary.
    x = keras.layers.Embedding(config.vocab_size + 2, config.embedding_dim)(token_ids)
    for i in range(config.layers):
        rnn = layer(config.units, return_sequences=i < config.layers - 1, dropout=config.dropout)
        x = keras.layers.Bidirectional(rnn)(x) if config.bidirectional else rnn(x)
    x = keras.layers.Dropout(config.dropout)(x)
    deep = keras.layers.Dense(1, name="recurrent_logit")(x)
    recurrent = keras.Model(token_ids, keras.layers.Activation("sigmoid")(deep), name="recurrent")
    recurrent.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    # One weight per n-gram bucket, averaged over the text's n-grams (padding 0 is masked out).
    table = keras.layers.Embedding(
        config.ngram_buckets + 2, 1, embeddings_initializer="zeros", mask_zero=True, name="wide"
    )
    wide = keras.layers.Dense(1, name="wide_logit")(  # its bias is the regression's intercept
        keras.layers.GlobalAveragePooling1D()(table(ngram_ids))
    )
    mixed = keras.layers.Dense(1, kernel_initializer="ones", name="mix")(
        keras.layers.Concatenate()([deep, wide])
    )
    probability = keras.layers.Activation("sigmoid", name="probability")(mixed)
    return recurrent, keras.Model([token_ids, ngram_ids], probability, name="sentiment")


def set_wide(served: keras.Model, wide: WideWeights) -> None:
    served.get_layer("wide").set_weights([wide.table[:, None]])
    served.get_layer("wide_logit").set_weights([np.ones((1, 1)), np.array([wide.bias])])


def set_mix(served: keras.Model, mix: Mix) -> None:
    served.get_layer("mix").set_weights([np.array(mix.weights)[:, None], np.array([mix.bias])])


def short_spans(
    tokenized: list[list[str]], config: SentimentConfig, rng: np.random.Generator
) -> list[list[str]]:
    """`spans_per_text` random runs of consecutive tokens of each text (all of a short text)."""
    shortest, longest = config.span_tokens
    spans = []
    for tokens in tokenized:
        for _ in range(config.spans_per_text):
            length = int(rng.integers(shortest, longest + 1))
            start = int(rng.integers(0, max(len(tokens) - length, 0) + 1))
            spans.append(tokens[start : start + length])
    return spans


def tokenize_all(texts: list[str], desc: str) -> list[list[str]]:
    return [tokenize(text) for text in tqdm(texts, desc=f"tokenize {desc}")]


def training_batches(
    parts: list[tuple[np.ndarray, np.ndarray, float]], config: SentimentConfig
) -> tf.data.Dataset:
    """Batches of whole texts and batches of short spans, shuffled and interleaved.

    Each part keeps its own padded width, so a batch of spans costs a fraction of a batch of
    whole reviews; left padding means the recurrent part ends on the last real token either way.
    """
    batches = [
        tf.data.Dataset.from_tensor_slices((token_ids, labels, _weights(labels, weight)))
        .shuffle(len(labels), seed=config.seed + k)
        .batch(config.batch_size)
        for k, (token_ids, labels, weight) in enumerate(parts)
        if len(labels)
    ]
    count = sum(-(-len(labels) // config.batch_size) for _, labels, _ in parts)
    mixed = tf.data.Dataset.sample_from_datasets(batches, seed=config.seed)
    return mixed.apply(tf.data.experimental.assert_cardinality(count))  # Keras needs the length


def _weights(labels: np.ndarray, weight: float) -> np.ndarray:
    return np.full(len(labels), weight, dtype=np.float32)


def train(config: SentimentConfig, data_dir: Path, models_dir: Path, download: bool) -> Metadata:
    started = time.monotonic()
    seed_everything(config.seed)
    data = load(config, data_dir, download)
    spec = SentimentPreprocessing(
        max_length=config.max_length,
        ngram_tokens=config.ngram_tokens,
        ngram_buckets=config.ngram_buckets,
    )
    # Validation comes out of the training texts; the test set is only used once, at the end.
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(len(data.train.texts))
    n_val = int(len(order) * config.validation_fraction)
    val_rows, train_rows = order[:n_val], order[n_val:]
    labels = np.array(data.train.labels, dtype=np.float32)
    train_tokens = tokenize_all([data.train.texts[i] for i in train_rows], "train")
    val_tokens = tokenize_all([data.train.texts[i] for i in val_rows], "validation")
    test_tokens = tokenize_all(data.test.texts, "test")
    y_train, y_val, y_test = labels[train_rows], labels[val_rows], np.array(data.test.labels)
    vocabulary = build_vocabulary(train_tokens, config.vocab_size)
    index = vocab_index(vocabulary, spec)
    spans = short_spans(train_tokens, config, rng)
    longest = config.span_tokens[1]
    span_spec = spec.model_copy(update={"max_length": longest, "ngram_tokens": longest})
    x_train, train_grams = encode(train_tokens, index, spec, "train")
    parts = [(x_train["token_ids"], y_train, 1.0)]
    if spans:
        span_labels = np.repeat(y_train, config.spans_per_text)
        span_ids = encode(spans, index, span_spec, "spans")[0]["token_ids"]
        parts.append((span_ids, span_labels, config.span_weight))
    x_val, _ = encode(val_tokens, index, spec, "validation")
    x_test, test_grams = encode(test_tokens, index, spec, "test")
    print(
        f"sentiment: {data.name}, {len(train_tokens)} train (+{len(spans)} spans) / "
        f"{len(val_tokens)} val / {len(y_test)} test"
    )

    recurrent, served = build(config)
    ids = config.ngram_buckets + 2
    print("sentiment: fitting the wide part (NB-weighted logistic regression)")
    wide = fit_wide(
        mean_pool_features(x_train["ngram_ids"], ids),
        y_train,
        config.wide_c,
        config.wide_feature_scale,
    )
    set_wide(served, wide)
    with staging_dir(models_dir, "sentiment") as staging:
        history = fit_and_reload_best(
            recurrent,
            training_batches(parts, config),
            (x_val["token_ids"], y_val),
            config,
            staging,
        )
        mix = fit_mix(
            _logit(_predict(recurrent, x_val["token_ids"])),
            wide_logits(wide, mean_pool_features(x_val["ngram_ids"], ids)),
            y_val,
        )
        set_mix(served, mix)
        scores = _predict(served, x_test)
        metrics = classification_metrics(scores, y_test)
        metrics |= {
            "mix_recurrent": mix.weights[0],
            "mix_wide": mix.weights[1],
            "test_texts": float(len(y_test)),
        }
        counts = {"train": ngram_counts(train_grams, spec), "test": ngram_counts(test_grams, spec)}
        metrics |= baseline_and_probe(config, counts, y_train, y_test, served, index, spec)
        (staging / VOCAB_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False) + "\n")
        signature = (
            tf.TensorSpec((None, spec.max_length), tf.int32, name="token_ids"),
            tf.TensorSpec((None, spec.ngram_length), tf.int32, name="ngram_ids"),
        )
        save_keras_and_onnx(served, signature, staging)
        plot_history(history, staging / "history.png", "sentiment: binary cross-entropy")
        metrics["roc_auc"] = plot_roc(y_test, scores, staging / "roc.png")
        plot_reliability(scores, y_test, staging / "reliability.png")
        print("sentiment:", ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()))
        return publish(
            staging,
            {
                "task": "sentiment",
                "data": {"name": data.name, "files": data.files},
                "hyperparameters": describe(config, history),
                "preprocessing": spec,
                "metrics": metrics,
                "limits": {"max_length_tokens": config.max_length},
                "training_seconds": round(time.monotonic() - started, 1),
                # What serving compares its texts and answers with (app/drift.py).
                "input_profile": reference_profile(
                    "sentiment",
                    sentiment_statistics(
                        x_val["token_ids"], spec.pad_id, spec.oov_id, _predict(served, x_val)
                    ),
                ),
            },
        )


def baseline_and_probe(
    config: SentimentConfig,
    counts: dict[str, sparse.csr_matrix],
    y_train: np.ndarray,
    y_test: np.ndarray,
    served: keras.Model,
    index: dict[str, int],
    spec: SentimentPreprocessing,
) -> dict[str, float]:
    """TF-IDF + logistic regression on the same training texts, scored on the same test set,
    and both models' accuracy on the hand-labelled short texts."""
    print("sentiment: fitting the TF-IDF + logistic regression baseline")
    baseline = tfidf_baseline(counts["train"], y_train, config.baseline_c)
    base_scores = baseline.predict_proba(counts["test"])[:, 1]
    out = {f"baseline_{k}": v for k, v in classification_metrics(base_scores, y_test).items()}
    if config.probe_file is not None and config.probe_file.is_file():
        probe = read_probe(config.probe_file)
        model_scores = _predict(served, sentiment_inputs(probe.texts, index, spec))
        out["probe_accuracy"] = probe_accuracy(model_scores, probe)
        probe_counts = ngram_counts(hash_corpus([tokenize(t) for t in probe.texts], spec), spec)
        out["baseline_probe_accuracy"] = probe_accuracy(
            baseline.predict_proba(probe_counts)[:, 1], probe
        )
        out["probe_texts"] = float(len(probe.texts))
    return out


def _logit(probability: np.ndarray) -> np.ndarray:
    p = np.clip(probability, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _predict(model: keras.Model, inputs: dict[str, np.ndarray] | np.ndarray) -> np.ndarray:
    """The model's single output for every row: P(positive)."""
    return np.asarray(model.predict(inputs, batch_size=512, verbose=0), dtype=np.float64)[:, 0]
