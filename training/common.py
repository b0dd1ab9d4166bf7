"""Pieces every training script uses: seeding, the fit loop's callbacks, plots, timing."""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any

import keras
import matplotlib
import numpy as np

matplotlib.use("Agg")  # plots are files; never open a window
import matplotlib.pyplot as plt


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after `seconds` of wall time, at the end of an epoch."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = time.monotonic()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if time.monotonic() - self.started > self.seconds:
            print(f"time budget of {self.seconds:.0f}s reached after epoch {epoch + 1}")
            self.model.stop_training = True


def fit_and_reload_best(
    model: keras.Model,
    train: Any,
    validation: Any,
    checkpoint: Path,
    epochs: int,
    patience: int,
    seconds: float,
    **fit_kwargs: Any,
) -> keras.callbacks.History:
    """Fit with early stopping and a time budget, then load the weights of the best epoch."""
    callbacks = [
        keras.callbacks.ModelCheckpoint(
            checkpoint, monitor="val_loss", save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience),
        TimeBudget(seconds),
    ]
    history = model.fit(
        train,
        validation_data=validation,
        epochs=epochs,
        callbacks=callbacks,
        shuffle=False,  # the datasets passed in are already shuffled (tf.data)
        verbose=1 if sys.stdout.isatty() else 2,  # a live progress bar only on a terminal
        **fit_kwargs,
    )
    model.load_weights(checkpoint)
    return history


def plot_history(history: keras.callbacks.History, path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("loss", "val_loss"):
        if key in history.history:
            ax.plot(range(1, len(history.history[key]) + 1), history.history[key], label=key)
    ax.set(xlabel="epoch", ylabel="loss", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def history_dict(history: keras.callbacks.History) -> dict[str, list[float]]:
    return {k: [float(v) for v in values] for k, values in history.history.items()}
