"""Truncated backpropagation through time with the recurrent state carried between batches.

The text is cut into `batch_size` contiguous streams; batch k holds the k-th run of
`seq_length` characters of every stream, so row b of a batch continues row b of the batch
before. A stateful copy of the network starts each batch from the state the previous one
ended in: every character is predicted with the context serving gives it (state carried across
the whole text), not from a zero state a few characters back. The stateful copy needs a fixed
batch size, so the step model (shared with serving) is a twin whose weights are copied over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf


def stream_batches(ids: np.ndarray, length: int, batch_size: int) -> tf.data.Dataset:
    """(inputs, next-character targets) batches in stream order, each [batch_size, length]."""
    per_stream = (len(ids) - 1) // batch_size
    steps = per_stream // length
    if steps == 0:
        raise ValueError(f"{len(ids)} characters are too few for {batch_size} streams")

    def arrange(values: np.ndarray) -> np.ndarray:
        streams = values[: batch_size * per_stream].reshape(batch_size, per_stream)
        return streams[:, : steps * length].reshape(batch_size, steps, length).transpose(1, 0, 2)

    return tf.data.Dataset.from_tensor_slices((arrange(ids[:-1]), arrange(ids[1:])))


def stateful_twin(step_model: keras.Model, batch_size: int) -> keras.Model:
    """A training model with the step model's layers' configuration, but stateful."""
    ids = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="char_ids")
    x = ids
    for layer in step_model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config |= {"stateful": True, "return_state": False, "return_sequences": True}
        x = type(layer).from_config(config)(x)
    return keras.Model(ids, x, name="char_lm_stateful")


class CarriedStateValidation(keras.callbacks.Callback):
    """Starts every epoch from a zero state; after it, copies the weights into the step model
    and logs `val_loss` as `evaluate(step_model)`: held-out nats/char with the state carried."""

    def __init__(self, step_model: keras.Model, evaluate: Callable[[keras.Model], float]) -> None:
        super().__init__()
        self.step_model = step_model
        self.evaluate = evaluate

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.RNN):
                layer.reset_state()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        copy_weights(self.model, self.step_model)
        if logs is not None:
            logs["val_loss"] = self.evaluate(self.step_model)


def copy_weights(source: keras.Model, target: keras.Model) -> None:
    """Trainable weights, in creation order (the recurrent states are not among them)."""
    for mine, theirs in zip(source.trainable_weights, target.trainable_weights, strict=True):
        theirs.assign(mine)
