"""Train a recurrent forecaster: a window of recent values in, the next `horizon` values out.

Direct multi-output: one forward pass predicts all `horizon` steps, so errors do not compound as
they do when a one-step model feeds on its own outputs, and serving costs one call per request.
The recurrent layers read the window in patches of `patch` values (a day of hourly data): 14 steps
instead of 336 make training and inference an order of magnitude cheaper, and each step sees a
whole seasonal cycle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from app.artifacts import ForecastPreprocessing, Metadata
from app.preprocessing import denormalise, normalise_windows
from training.common import describe, fit_and_reload_best, plot_history, seed_everything
from training.data.series import SeriesData, load_etth1, load_m4_hourly, load_series_csv
from training.export import publish, save_keras_and_onnx, staging_dir
from training.metrics import mase, seasonal_naive, smape
from training.plots import plot_forecasts


@dataclass
class ForecastConfig:
    dataset: str = "m4_hourly"  # m4_hourly | etth1 | csv (then set data_file)
    data_file: Path | None = None  # a user's CSV: one numeric column, or unique_id,ds,y
    season: int = 24  # seasonal period of a user's CSV (M4 hourly and ETTh1 are 24)
    window: int = 336  # two weeks of hourly values in
    horizon: int = 48  # M4 hourly's horizon out
    patch: int = 24  # values per recurrent step; window must be a multiple of it
    cell: str = "lstm"  # lstm | gru
    layers: int = 2
    units: int = 64
    dropout: float = 0.1
    max_train_windows: int = 120_000  # a random subset of all training windows
    epochs: int = 40
    batch_size: int = 256
    learning_rate: float = 2e-3
    patience: int = 5  # epochs without validation improvement before stopping
    time_budget: float = 150.0  # seconds of fitting at most
    seed: int = 42


CONFIG = ForecastConfig


def load(config: ForecastConfig, data_dir: Path, download: bool) -> SeriesData:
    if config.dataset == "m4_hourly":
        return load_m4_hourly(data_dir, download)
    if config.dataset == "etth1":
        return load_etth1(data_dir, download)
    if config.data_file is None:
        raise ValueError("dataset 'csv' needs --data-file")
    min_length = config.window + 2 * config.horizon
    return load_series_csv(config.data_file, config.horizon, config.season, min_length)


def windows(
    data: SeriesData, config: ForecastConfig, part: str
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """All (input, target) pairs whose target lies wholly inside one part of each series.

    Inputs may reach back before the part's start, as in the standard ETTh1 protocol; targets
    never cross a border, so no future value leaks into training.
    """
    inputs, targets, where = [], [], []
    for i, series in enumerate(data.series):
        start, end = {
            "train": (0, data.train_end[i]),
            "val": (data.train_end[i], data.val_end[i]),
            "test": (data.val_end[i], len(series)),
        }[part]
        for t in range(max(start, config.window), end - config.horizon + 1):
            inputs.append(series[t - config.window : t])
            targets.append(series[t : t + config.horizon])
            where.append((i, t))
    if not inputs:
        raise ValueError(f"no {part} windows: series too short for window + horizon")
    return np.array(inputs), np.array(targets), where


def scaled_pairs(
    inputs: np.ndarray, targets: np.ndarray, spec: ForecastPreprocessing
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets scaled by the input window's own statistics."""
    x, mean, scale = normalise_windows(inputs, spec)
    y = ((targets - mean) / scale).astype(np.float32)
    return x, y


def build(config: ForecastConfig, season: int) -> keras.Model:
    """Recurrent layers over patches of the window, predicting a correction to seasonal naive.

    The seasonal-naive forecast (repeat the last season) is a frozen linear map of the window, so
    the network starts from the strong M4 baseline and only has to learn where to depart from it.
    """
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
    window = keras.Input((config.window,), name="window")
    x = keras.layers.Reshape((config.window // config.patch, config.patch))(window)
    for i in range(config.layers):
        last = i == config.layers - 1
        x = layer(config.units, return_sequences=not last, dropout=config.dropout)(x)
    correction = keras.layers.Dense(config.horizon, kernel_initializer="zeros")(x)
    naive = keras.layers.Dense(config.horizon, use_bias=False, trainable=False, name="naive")
    out = keras.layers.Add(name="forecast")([naive(window), correction])
    naive.set_weights([naive_selection(config.window, config.horizon, season)])
    model = keras.Model(window, out, name="forecaster")
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mae")
    return model


def naive_selection(window: int, horizon: int, season: int) -> np.ndarray:
    """[window, horizon] 0/1 matrix: output step h copies the value one season-multiple back."""
    matrix = np.zeros((window, horizon), dtype=np.float32)
    for h in range(horizon):
        matrix[window - season + h % season, h] = 1.0
    return matrix


def evaluate(
    model: keras.Model, data: SeriesData, config: ForecastConfig, spec: ForecastPreprocessing
) -> tuple[dict[str, float], np.ndarray, np.ndarray, np.ndarray]:
    """sMAPE and MASE (M4 definitions) of the model and of seasonal naive on the test part."""
    inputs, targets, where = windows(data, config, "test")
    x, mean, scale = normalise_windows(inputs, spec)
    predictions = denormalise(model.predict(x, batch_size=1024, verbose=0), mean, scale)
    naive = seasonal_naive(inputs, config.horizon, data.season)
    # MASE's scale: the in-sample seasonal naive error of everything before the test part.
    histories = [data.series[i][: data.val_end[i]] for i, _ in where]
    # Errors in units of each series' training standard deviation: the ETTh1 papers' MSE / MAE.
    train_std = np.array([data.series[i][: data.train_end[i]].std() or 1.0 for i, _ in where])
    metrics = {"test_windows": float(len(targets))}
    for prefix, forecast in (("", predictions), ("naive_", naive)):
        scaled_error = (targets - forecast) / train_std[:, None]
        metrics |= {
            f"{prefix}smape": smape(targets, forecast),
            f"{prefix}mase": mase(targets, forecast, histories, data.season),
            f"{prefix}mse_scaled": float(np.mean(scaled_error**2)),
            f"{prefix}mae_scaled": float(np.mean(np.abs(scaled_error))),
        }
    return metrics, inputs, targets, predictions


def train(config: ForecastConfig, data_dir: Path, models_dir: Path, download: bool) -> Metadata:
    started = time.monotonic()
    seed_everything(config.seed)
    if config.window % config.patch:
        raise ValueError(f"window {config.window} is not a multiple of patch {config.patch}")
    data = load(config, data_dir, download)
    if config.window < data.season:
        raise ValueError(f"window {config.window} is shorter than the season {data.season}")
    spec = ForecastPreprocessing(
        window=config.window,
        horizon=config.horizon,
        season=data.season,
        min_relative_scale=1e-3,
    )

    inputs, targets, _ = windows(data, config, "train")
    keep = np.random.default_rng(config.seed).permutation(len(inputs))[: config.max_train_windows]
    x_train, y_train = scaled_pairs(inputs[keep], targets[keep], spec)
    x_val, y_val = scaled_pairs(*windows(data, config, "val")[:2], spec)
    print(f"forecast: {data.name}, {len(x_train)} train / {len(x_val)} val windows")

    model = build(config, data.season)
    with staging_dir(models_dir, "forecast") as staging:
        history = fit_and_reload_best(model, (x_train, y_train), (x_val, y_val), config, staging)
        metrics, inputs, targets, predictions = evaluate(model, data, config, spec)
        signature = (tf.TensorSpec((None, config.window), tf.float32, name="window"),)
        save_keras_and_onnx(model, signature, staging)
        plot_history(history, staging / "history.png", "forecast: MAE on scaled windows")
        plot_forecasts(inputs, targets, predictions, staging / "forecast_vs_actual.png")
        return publish(
            staging,
            {
                "task": "forecast",
                "data": {"name": data.name, "files": data.files},
                "hyperparameters": describe(config, history),
                "preprocessing": spec,
                "metrics": metrics,
                "limits": {"window": config.window, "max_horizon": config.horizon},
                "training_seconds": round(time.monotonic() - started, 1),
            },
        )
