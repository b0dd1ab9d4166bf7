"""Sentiment evaluation: metrics, calibration error (ECE, reliability plot) and the bag-of-words
baseline that the model has to beat, all computed in the same run as the model."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from tqdm import tqdm

from app.artifacts import SentimentPreprocessing
from app.preprocessing import hashed_ngrams


def classification_metrics(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class at threshold 0.5, and ECE."""
    predicted = (scores >= 0.5).astype(int)
    true_pos = int(((predicted == 1) & (labels == 1)).sum())
    precision = true_pos / max(int(predicted.sum()), 1)
    recall = true_pos / max(int(labels.sum()), 1)
    return {
        "accuracy": float((predicted == labels).mean()),
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "precision": precision,
        "recall": recall,
        "ece": expected_calibration_error(scores, labels),
    }


def expected_calibration_error(scores: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE of the predicted label's probability: |accuracy - confidence| over equal-width
    confidence bins, weighted by the share of texts in each bin (Guo et al. 2017)."""
    confidence, correct = _confidence(scores, labels)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            gap += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(gap)


def _confidence(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predicted = scores >= 0.5
    return np.where(predicted, scores, 1 - scores), (predicted == (labels == 1)).astype(float)


def plot_reliability(scores: np.ndarray, labels: np.ndarray, path: Path, bins: int = 10) -> None:
    """Accuracy against confidence per bin: on the diagonal when calibrated."""
    confidence, correct = _confidence(scores, labels)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    centres, accuracy, counts = [], [], []
    for b in range(bins):
        if (in_bin := which == b).any():
            centres.append(confidence[in_bin].mean())
            accuracy.append(correct[in_bin].mean())
            counts.append(int(in_bin.sum()))
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0.5, 1], [0.5, 1], color="grey", linestyle="--", label="perfect calibration")
    ax.plot(centres, accuracy, marker="o", label="model (test set)")
    for x, y, n in zip(centres, accuracy, counts, strict=True):
        ax.annotate(str(n), (x, y), fontsize=7, textcoords="offset points", xytext=(3, -10))
    ece = expected_calibration_error(scores, labels)
    ax.set(xlabel="confidence (probability of the predicted label)", ylabel="accuracy")
    ax.set_title(f"reliability, ECE {ece:.4f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def ngram_counts(tokenized: list[list[str]], spec: SentimentPreprocessing) -> sparse.csr_matrix:
    """Counts of every unigram and bigram of each whole text, hashed as for the wide part."""
    rows = [hashed_ngrams(tokens, spec) for tokens in tqdm(tokenized, desc="n-gram counts")]
    pointers = np.cumsum([0] + [len(r) for r in rows])
    columns = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    ones = np.ones(len(columns), dtype=np.float64)
    shape = (len(rows), spec.ngram_buckets + 2)
    counts = sparse.csr_matrix((ones, columns, pointers), shape=shape)
    counts.sum_duplicates()
    return counts


def tfidf_baseline(counts: sparse.csr_matrix, labels: np.ndarray, c: float) -> Pipeline:
    """TF-IDF (sublinear tf, l2 norm) over unigram and bigram counts + logistic regression."""
    baseline = make_pipeline(
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=c, max_iter=1000, solver="liblinear"),
    )
    return baseline.fit(counts, labels)


@dataclass
class Probe:
    """Short texts labelled by hand: negation, contrast, intensity, other domains."""

    texts: list[str]
    labels: np.ndarray


def read_probe(path: Path) -> Probe:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return Probe([r["text"] for r in rows], np.array([int(r["label"]) for r in rows]))


def probe_accuracy(scores: np.ndarray, probe: Probe) -> float:
    return float(((scores >= 0.5).astype(int) == probe.labels).mean())
