"""Train a sentiment classifier: raw review text in, probability that it is positive out.

Text standardisation and tokenisation live in app/preprocessing.py and the vocabulary is saved
with the model, so serving turns raw text into exactly the ids the model was trained on.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from app.artifacts import VOCAB_FILE, Metadata, SentimentPreprocessing
from app.preprocessing import encode_texts, tokenize, vocab_index
from training.common import describe, fit_and_reload_best, plot_history, seed_everything
from training.data.text import SentimentData, load_imdb, load_sentiment_csv
from training.export import publish, save_keras_and_onnx, staging_dir
from training.plots import plot_roc


@dataclass
class SentimentConfig:
    dataset: str = "imdb"  # imdb | csv (then set data_file, optionally test_file)
    data_file: Path | None = None  # a user's CSV with `text` and `label` columns
    test_file: Path | None = None  # held-out CSV; without it 20% of data_file is held out
    vocab_size: int = 20_000  # most frequent training tokens; the rest map to one OOV id
    max_length: int = 300  # tokens per text the model reads (the last ones)
    embedding_dim: int = 64
    cell: str = "lstm"  # lstm | gru
    layers: int = 1
    units: int = 64
    bidirectional: bool = False
    dropout: float = 0.3
    validation_fraction: float = 0.1  # of the training texts, for early stopping
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 1
    time_budget: float = 150.0  # seconds of fitting at most
    seed: int = 42


CONFIG = SentimentConfig


def load(config: SentimentConfig, data_dir: Path, download: bool) -> SentimentData:
    if config.dataset == "imdb":
        return load_imdb(data_dir, download)
    if config.data_file is None:
        raise ValueError("dataset 'csv' needs --data-file")
    return load_sentiment_csv(config.data_file, config.test_file, config.seed)


def build_vocabulary(texts: list[str], size: int) -> list[str]:
    """The `size` most frequent tokens, ties broken alphabetically so runs are reproducible."""
    counts = Counter(token for text in tqdm(texts, desc="vocabulary") for token in tokenize(text))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [word for word, _ in ranked[:size]]


def build(config: SentimentConfig) -> keras.Model:
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
    ids = keras.Input((config.max_length,), dtype="int32", name="token_ids")
    # +2: ids 0 and 1 are padding and out-of-vocabulary.
    x = keras.layers.Embedding(config.vocab_size + 2, config.embedding_dim)(ids)
    for i in range(config.layers):
        rnn = layer(config.units, return_sequences=i < config.layers - 1, dropout=config.dropout)
        x = keras.layers.Bidirectional(rnn)(x) if config.bidirectional else rnn(x)
    x = keras.layers.Dropout(config.dropout)(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = keras.Model(ids, out, name="sentiment")
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class at threshold 0.5."""
    predicted = (scores >= 0.5).astype(int)
    true_pos = int(((predicted == 1) & (labels == 1)).sum())
    precision = true_pos / max(int(predicted.sum()), 1)
    recall = true_pos / max(int(labels.sum()), 1)
    return {
        "accuracy": float((predicted == labels).mean()),
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "precision": precision,
        "recall": recall,
        "test_texts": float(len(labels)),
    }


def train(config: SentimentConfig, data_dir: Path, models_dir: Path, download: bool) -> Metadata:
    started = time.monotonic()
    seed_everything(config.seed)
    data = load(config, data_dir, download)
    spec = SentimentPreprocessing(max_length=config.max_length)

    # Validation comes out of the training texts; the test set is only used once, at the end.
    order = np.random.default_rng(config.seed).permutation(len(data.train.texts))
    n_val = int(len(order) * config.validation_fraction)
    val_rows, train_rows = order[:n_val], order[n_val:]
    train_texts = [data.train.texts[i] for i in train_rows]
    vocabulary = build_vocabulary(train_texts, config.vocab_size)
    index = vocab_index(vocabulary, spec)
    labels = np.array(data.train.labels, dtype=np.float32)
    x_train = encode_texts(train_texts, index, spec)
    x_val = encode_texts([data.train.texts[i] for i in val_rows], index, spec)
    x_test = encode_texts(data.test.texts, index, spec)
    y_test = np.array(data.test.labels)
    print(f"sentiment: {data.name}, {len(x_train)} train / {len(x_val)} val / {len(x_test)} test")

    model = build(config)
    with staging_dir(models_dir, "sentiment") as staging:
        training_pairs = (x_train, labels[train_rows])
        history = fit_and_reload_best(
            model, training_pairs, (x_val, labels[val_rows]), config, staging
        )
        scores = model.predict(x_test, batch_size=512, verbose=0)[:, 0]
        metrics = classification_metrics(scores, y_test)
        (staging / VOCAB_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False) + "\n")
        signature = (tf.TensorSpec((None, config.max_length), tf.int32, name="token_ids"),)
        save_keras_and_onnx(model, signature, staging)
        plot_history(history, staging / "history.png", "sentiment: binary cross-entropy")
        metrics["roc_auc"] = plot_roc(y_test, scores, staging / "roc.png")
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
            },
        )
