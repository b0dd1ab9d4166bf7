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


def plot_fan(
    histories: list[np.ndarray],
    targets: np.ndarray,
    valid: np.ndarray,
    forecasts: np.ndarray,
    bounds: np.ndarray,
    titles: list[str],
    path: Path,
) -> None:
    """Forecast fans: the last part of each history, the actual continuation, the forecast and
    its 80% and 95% intervals (`bounds[i, step]`: lower 80, upper 80, lower 95, upper 95)."""
    columns = 2
    count = -(-len(histories) // columns)
    fig, axes = plt.subplots(count, columns, figsize=(11, 2.3 * count), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(histories):
            ax.axis("off")
            continue
        steps = int(valid[k].sum())
        history = histories[k][-3 * steps :]
        future = np.arange(steps)
        ax.plot(np.arange(-len(history), 0), history, color="grey", label="history")
        for lower, alpha, label in ((2, 0.2, "95%"), (0, 0.35, "80%")):
            band = bounds[k, :steps, lower], bounds[k, :steps, lower + 1]
            ax.fill_between(future, *band, color="tab:blue", alpha=alpha, label=label)
        ax.plot(future, targets[k, :steps], color="black", label="actual")
        ax.plot(future, forecasts[k, :steps], color="tab:orange", label="forecast")
        ax.set_title(titles[k], fontsize=9)
    axes[0, 0].legend(loc="upper left", fontsize=7)
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
