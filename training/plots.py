"""Task plots saved next to each artifact."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def plot_forecasts(
    inputs: np.ndarray, targets: np.ndarray, predictions: np.ndarray, path: Path, rows: int = 4
) -> None:
    """The last part of a few test windows, the actual continuation and the forecast."""
    picks = np.linspace(0, len(inputs) - 1, num=min(rows, len(inputs))).astype(int)
    fig, axes = plt.subplots(len(picks), 1, figsize=(9, 2.2 * len(picks)), squeeze=False)
    history = min(inputs.shape[1], 3 * targets.shape[1])
    for ax, i in zip(axes[:, 0], picks, strict=True):
        past = np.arange(-history, 0)
        future = np.arange(targets.shape[1])
        ax.plot(past, inputs[i, -history:], color="grey", label="input")
        ax.plot(future, targets[i], color="black", label="actual")
        ax.plot(future, predictions[i], color="tab:orange", label="forecast")
        ax.set_title(f"test window {i}", fontsize=9)
    axes[0, 0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_roc(labels: np.ndarray, scores: np.ndarray, path: Path) -> float:
    """ROC curve of the positive class; returns the area under it."""
    order = np.argsort(-scores, kind="stable")
    ranked = np.asarray(labels)[order]
    tpr = np.concatenate([[0.0], np.cumsum(ranked) / max(ranked.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - ranked) / max((1 - ranked).sum(), 1)])
    auc = float(np.trapezoid(tpr, fpr))
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="sentiment: test ROC")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return auc
