"""The correction networks of the forecaster, and the one graph that routes between them.

A network reads the window in patches (with its observed flags) and the context (base and
seasonal-naive forecasts, season and length codes), and predicts a correction to the base
bounded by `correction_bound` window scales (tanh, then a fixed rescaling).

Two such networks, trained apart: a general one for low-frequency series (yearly to weekly:
short histories, seasons up to 52) and a high-frequency one for series whose applied season is
at least `route_min_season` (hourly data: long histories, daily and weekly cycles), whose
errors look nothing alike. The exported graph computes both and keeps, per row, the one the
context's last column (the route flag set by app/preprocessing.py) names; serving needs
nothing but that graph and the metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from app.artifacts import ForecastPreprocessing
from training.common import FitConfig, fit_and_reload_best


def masked_mae(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """Mean absolute error over valid steps; y_true holds residuals then the valid mask."""
    residual, valid = tf.split(y_true, 2, axis=-1)
    return tf.reduce_sum(tf.abs(residual - y_pred) * valid) / tf.maximum(tf.reduce_sum(valid), 1.0)


def build_branch(
    spec: ForecastPreprocessing,
    *,
    cell: str,
    layers: int,
    units: int,
    dropout: float,
    learning_rate: float,
    name: str,
) -> keras.Model:
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    window = keras.Input((spec.window,), name="window")
    observed = keras.Input((spec.window,), name="observed")
    context = keras.Input((spec.context_size,), name="context")
    steps = (spec.window // spec.patch, spec.patch)
    x = keras.layers.Concatenate()(
        [keras.layers.Reshape(steps)(window), keras.layers.Reshape(steps)(observed)]
    )
    for i in range(layers):
        last = i == layers - 1
        x = layer(units, return_sequences=not last, dropout=dropout)(x)
    x = keras.layers.Concatenate()([x, context])
    x = keras.layers.Dense(2 * units, activation="relu")(x)
    raw = keras.layers.Dense(spec.horizon, activation="tanh", kernel_initializer="zeros")(x)
    correction = keras.layers.Rescaling(spec.correction_bound, name="correction")(raw)
    model = keras.Model([window, observed, context], correction, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=masked_mae)
    return model


def routed(general: keras.Model, high: keras.Model, spec: ForecastPreprocessing) -> keras.Model:
    """One graph: `high`'s correction where the context's route flag is 1, else `general`'s.

    The flag is picked out of the context by fixed (untrained) dense layers, so the graph is
    made of standard layers only and converts to ONNX like a single network.
    """
    window = keras.Input((spec.window,), name="window")
    observed = keras.Input((spec.window,), name="observed")
    context = keras.Input((spec.context_size,), name="context")
    inputs = [window, observed, context]
    pick = np.zeros((spec.context_size, 1), dtype=np.float32)
    pick[-1, 0] = 1.0
    flag_layer = keras.layers.Dense(1, use_bias=False, trainable=False, name="route_flag")
    other_layer = keras.layers.Dense(1, trainable=False, name="route_other")
    flag, other = flag_layer(context), other_layer(context)
    flag_layer.set_weights([pick])
    other_layer.set_weights([-pick, np.ones(1, dtype=np.float32)])
    out = keras.layers.Add(name="correction")(
        [
            keras.layers.Multiply()([flag, _uncompiled(high)(inputs)]),
            keras.layers.Multiply()([other, _uncompiled(general)(inputs)]),
        ]
    )
    return keras.Model(inputs, out, name="forecaster")


def _uncompiled(net: keras.Model) -> keras.Model:
    """The same network without its loss: a saved graph must load where training's custom
    loss does not exist (the TensorFlow serving runtime)."""
    copy = keras.Model.from_config(net.get_config())  # the layers' config: no loss, no optimizer
    copy.set_weights(net.get_weights())
    return copy


@dataclass
class Split:
    inputs: dict[str, np.ndarray]  # the encoded rows (app/preprocessing.py)
    targets: np.ndarray  # residual targets and valid masks (training/data/windows.py)
    seasons: np.ndarray  # [n] season applied to each row

    def rows(self, keep: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        return {k: v[keep] for k, v in self.inputs.items()}, self.targets[keep]


def cosine_decay(net: keras.Model, epochs: int) -> keras.callbacks.Callback:
    """The learning rate of epoch e (from 0): the initial one x (1 + cos(pi e / epochs)) / 2.
    A fixed schedule: the last epochs take small steps, so the epoch the validation picks is
    not one lucky point of a noisy curve (M4 hourly validation MASE 0.86-0.96 over the last
    epochs at a constant rate, 0.85-0.86 with this decay)."""
    initial = float(keras.ops.convert_to_numpy(net.optimizer.learning_rate))
    return keras.callbacks.LearningRateScheduler(
        lambda epoch: initial * 0.5 * (1.0 + np.cos(np.pi * epoch / epochs))
    )


def fit_branches(
    nets: dict[str, keras.Model],
    train: Split,
    validation: Split,
    spec: ForecastPreprocessing,
    configs: dict[str, FitConfig],
    scratch: Path,
    decayed: tuple[str, ...] = (),
) -> tuple[keras.Model, dict[str, Any]]:
    """Fit each network on its own rows (best epoch by its own validation rows); the routed
    graph, or the general network alone when the spec does not route. A network without
    training rows keeps its zero output layer: it corrects nothing. The networks named in
    `decayed` train with `cosine_decay`."""
    if spec.route_min_season is None:
        general = nets["general"]
        history = fit_and_reload_best(
            general,
            (train.inputs, train.targets),
            (validation.inputs, validation.targets),
            configs["general"],
            scratch,
        )
        return general, {"general": history}
    histories = {}
    for name, net in nets.items():
        high = name == "high_frequency"
        keep_train = (train.seasons >= spec.route_min_season) == high
        keep_val = (validation.seasons >= spec.route_min_season) == high
        if keep_train.any() and keep_val.any():
            schedule = (cosine_decay(net, configs[name].epochs),) if name in decayed else ()
            histories[name] = fit_and_reload_best(
                net,
                train.rows(keep_train),
                validation.rows(keep_val),
                configs[name],
                scratch,
                first_callbacks=schedule,
            )
    return routed(nets["general"], nets["high_frequency"], spec), histories
