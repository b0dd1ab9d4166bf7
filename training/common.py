"""Pieces every training script uses: seeding, the fit loop's callbacks, plots, timing."""

from __future__ import annotations

import random
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol

import keras
import matplotlib
import numpy as np
import tensorflow as tf

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


class FitConfig(Protocol):
    """The fields every task config has for the fit loop."""

    epochs: int
    batch_size: int
    patience: int
    time_budget: float
    seed: int


def fit_and_reload_best(
    model: keras.Model,
    train: tuple[Any, np.ndarray] | tf.data.Dataset,  # inputs: an array, or a dict by name
    validation: tuple[Any, Any] | None,
    config: FitConfig,
    scratch: Path,
    monitor: str = "val_loss",
    first_callbacks: tuple[keras.callbacks.Callback, ...] = (),
) -> keras.callbacks.History:
    """Fit with early stopping and a time budget, then load the weights of the best epoch.

    Training pairs are shuffled every epoch (never across the train / validation border: the two
    come in separately); `train` may also be a batched tf.data.Dataset. The best weights pass
    through a file in `scratch`, removed afterwards. `first_callbacks` run before the others at
    each epoch's end: one may log the monitored validation loss itself (then `validation` is
    None).
    """
    checkpoint = scratch / "best.weights.h5"
    callbacks = [
        *first_callbacks,
        keras.callbacks.ModelCheckpoint(
            checkpoint, monitor=monitor, mode="min", save_best_only=True, save_weights_only=True
        ),
        keras.callbacks.EarlyStopping(monitor=monitor, mode="min", patience=config.patience),
    ]
    if config.time_budget > 0:  # an explicit option only: presets must not depend on speed
        callbacks.append(TimeBudget(config.time_budget))
    batches = (
        train  # already batched and shuffled by the caller
        if isinstance(train, tf.data.Dataset)
        else tf.data.Dataset.from_tensor_slices(train)
        .shuffle(len(train[1]), seed=config.seed)
        .batch(config.batch_size)
    )
    history = model.fit(
        batches,
        validation_data=validation,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,  # tf.data shuffles above
        verbose=1 if sys.stdout.isatty() else 2,  # a live progress bar only on a terminal
    )
    model.load_weights(checkpoint)
    checkpoint.unlink()
    return history


def describe(
    config: Any, history: keras.callbacks.History | dict[str, keras.callbacks.History]
) -> dict[str, Any]:
    """The hyper-parameters recorded in metadata.json: the config plus the loss history (per
    network, for a model made of several)."""
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()}
    if isinstance(history, dict):
        return {**fields, "history": {name: history_dict(h) for name, h in history.items()}}
    return {**fields, "history": history_dict(history)}


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
