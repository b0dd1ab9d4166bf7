"""Train a recurrent correction to a statistical base forecast, across frequencies.

The base (app/forecast_base.py: seasonal decomposition + Theta, numpy, shared with serving) is a
strong, general forecast for any season and level. The recurrent net reads the last `window`
values (left-padded, with an observed flag) in patches, plus the base and seasonal-naive
forecasts, and predicts a correction to the base bounded by `correction_bound` window scales:
it can only refine the base, never run away from it. Direct multi-output: one forward pass
gives all `horizon` steps.

Data: M4 hourly, ETTh1, M1 and M3 histories (official train parts). Validation, which picks the
best epoch, is the last official horizon of every history; the official test parts, and all of
Tourism (held out), are only evaluated at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from app.artifacts import ForecastPreprocessing, Metadata
from training.common import describe, plot_history, seed_everything
from training.data.competitions import (
    HELD_OUT_DATASETS,
    TRAIN_DATASETS,
    Problem,
    data_files,
    load_problems,
    training_histories,
)
from training.data.files import fingerprint
from training.data.windows import (
    encode,
    joined,
    residual_targets,
    training_samples,
    validation_samples,
)
from training.export import publish, save_keras_and_onnx, staging_dir
from training.forecast_eval import corrected_seasons, scores
from training.forecast_intervals import calibrate_and_score
from training.forecast_net import Split, build_branch, fit_branches
from training.forecast_report import (
    evaluate,
    forecast,
    input_profile,
    model_forecaster,
    plot_fans,
    plot_test,
)


@dataclass
class ForecastConfig:
    datasets: tuple[str, ...] = TRAIN_DATASETS  # training data (and evaluated on their tests)
    dataset: str = ""  # only this one of `datasets` (m4_hourly, etth1, m1, m3); "": all
    held_out: tuple[str, ...] = HELD_OUT_DATASETS  # never trained on, only evaluated
    data_file: Path | None = None  # a user's CSV instead (one column, or unique_id,ds,y)
    season: int = 24  # seasonal period of a user's CSV
    horizon: int = 48  # outputs; requests take the first `horizon` (M4 hourly's horizon)
    window: int = 336  # values the net reads: two weeks of hourly data
    patch: int = 24  # values per recurrent step; divides window
    history: int = 1024  # values the base forecast reads
    min_length: int = 6  # shortest series served and trained on
    correction_bound: float = 10.0  # in window scales (mean absolute one-step change)
    origins_per_series: int = 8  # training origins per history (per 250 values)
    cell: str = "lstm"  # lstm | gru
    layers: int = 1
    units: int = 64
    dropout: float = 0.0
    # The general network's validation loss was lowest at epoch 4 of 10 in the default run
    # (2.526; 2.55-2.60 after it): 4 epochs, so the three tasks fit the 10-minute budget.
    epochs: int = 4
    batch_size: int = 512
    learning_rate: float = 1e-3
    patience: int = 10  # epochs without validation improvement before stopping (noisy: M3)
    time_budget: float = 1e9  # seconds of fitting at most: off unless set explicitly
    statistical_baseline: bool = True  # statsforecast's Theta (series up to 400 values)
    short_history: int = 96  # also evaluate M4 hourly cut to its last this many values
    # Series with an applied season at least this long (hourly data) get their own network
    # (training/forecast_net.py); 0: one network for all.
    route_min_season: int = 24
    # The high-frequency network's training origins, per 250 values of history: each with a
    # full window before it (hourly requests and test histories are long; origins with a
    # left-padded window were half of them before), then `high_short_fraction` of them cut to a
    # random short history (so short requests are still learnt). M4 hourly validation MASE,
    # one thread, 9 epochs: 0.883 (64 origins from any point, constant rate 2e-3, batch 256);
    # 0.859 (full windows, cosine decay); 0.848 (also 96 origins, batch 384 at 3e-3).
    high_origins: int = 96
    high_short_fraction: float = 0.3
    high_full_window: bool = True
    high_layers: int = 1  # M4 hourly validation MASE 0.915 (two layers, batch 512, 1e-3: 0.947)
    high_units: int = 64
    high_epochs: int = 9
    high_batch_size: int = 384  # as many steps per epoch as 64 origins at 256
    high_learning_rate: float = 3e-3
    high_cosine_decay: bool = True  # training/forecast_net.cosine_decay
    seed: int = 42


CONFIG = ForecastConfig
# The metrics `python -m training` prints after a run.
HEADLINE = (
    "test/all/model_smape",
    "test/all/model_mase",
    "test/all/snaive_mase",
    "test/all/model_cov80",  # prediction intervals: empirical coverage in percent
    "test/all/model_cov95",
)
# Overrides of CONFIG's defaults per preset (`default` is CONFIG itself).
PRESETS: dict[str, dict[str, Any]] = {
    # Seconds: for tests and smoke runs. Metrics mean nothing here.
    "tiny": {
        "window": 48,
        "units": 8,
        "origins_per_series": 4,
        "high_origins": 4,
        "high_layers": 1,
        "high_units": 8,
        "epochs": 2,
        "statistical_baseline": False,  # statsforecast's compilation alone takes seconds
    },
    # The best quality we reach on a CPU, in tens of minutes.
    "full": {"units": 128, "origins_per_series": 48, "epochs": 30, "patience": 6},
}


def spec_for(config: ForecastConfig) -> ForecastPreprocessing:
    return ForecastPreprocessing(
        window=config.window,
        patch=config.patch,
        horizon=config.horizon,
        history=config.history,
        min_length=config.min_length,
        max_season=168,
        correction_bound=config.correction_bound,
        min_relative_scale=1e-12,  # far below any real signal; keeps flat windows finite
        route_min_season=config.route_min_season or None,
    )


def build(config: ForecastConfig, spec: ForecastPreprocessing, high: bool = False) -> keras.Model:
    """One correction network: the general one, or (`high`) the high-frequency one."""
    return build_branch(
        spec,
        cell=config.cell,
        layers=config.high_layers if high else config.layers,
        units=config.high_units if high else config.units,
        dropout=config.dropout,
        learning_rate=config.high_learning_rate if high else config.learning_rate,
        name="high_frequency" if high else "general",
    )


def train(config: ForecastConfig, data_dir: Path, models_dir: Path, download: bool) -> Metadata:
    started = time.monotonic()
    seed_everything(config.seed)
    spec = spec_for(config)
    if spec.window % spec.patch:
        raise ValueError(f"window {spec.window} is not a multiple of patch {spec.patch}")
    if config.data_file is not None:
        from training.data.user_series import user_problems

        trained = user_problems(config.data_file, config.horizon, config.season, spec)
        held_out: list[Problem] = []
        files = fingerprint(config.data_file)
    else:
        names = (config.dataset,) if config.dataset else config.datasets
        trained = [p for name in names for p in load_problems(name, data_dir, download)]
        held_out = [p for name in config.held_out for p in load_problems(name, data_dir, download)]
        files = data_files((*names, *config.held_out), data_dir, download)
    histories = training_histories(trained)
    route = config.route_min_season or np.iinfo(np.int64).max
    train_rows = joined(
        [
            training_samples(
                [p for p in histories if p.season < route],
                spec,
                config.origins_per_series,
                config.seed,
            ),
            training_samples(
                [p for p in histories if p.season >= route],
                spec,
                config.high_origins,
                config.seed,
                config.high_short_fraction,
                min_history=spec.window if config.high_full_window else 0,
            ),
        ]
    )
    val_rows = validation_samples(histories, spec)
    train_inputs, val_inputs = encode(train_rows, spec), encode(val_rows, spec)
    print(f"forecast: {len(train_rows.groups)} train / {len(val_rows.groups)} val origins")

    with staging_dir(models_dir, "forecast") as staging:
        model, histories_by_branch = fit_branches(
            {"general": build(config, spec), "high_frequency": build(config, spec, high=True)},
            Split(
                train_inputs.arrays,
                residual_targets(train_rows, train_inputs),
                train_inputs.seasons,
            ),
            Split(val_inputs.arrays, residual_targets(val_rows, val_inputs), val_inputs.seasons),
            spec,
            {
                "general": config,
                "high_frequency": replace(
                    config, epochs=config.high_epochs, batch_size=config.high_batch_size
                ),
            },
            staging,
            decayed=("high_frequency",) if config.high_cosine_decay else (),
        )
        spec = spec.model_copy(
            update={"corrected_seasons": corrected_seasons(model, val_rows, spec)}
        )
        val_forecasts = forecast(model, val_rows, spec)
        val_metrics = scores(val_rows, val_forecasts, "val/")
        metrics, test, predictions = evaluate(
            model, trained + held_out, spec, config.statistical_baseline, config.short_history
        )
        # Prediction intervals: calibrated on validation, scored on the test parts (issue 13).
        intervals, interval_metrics, bounds = calibrate_and_score(
            val_rows, val_forecasts["model"], test, predictions, spec, model_forecaster(model, spec)
        )
        signature = (
            tf.TensorSpec((None, spec.window), tf.float32, name="window"),
            tf.TensorSpec((None, spec.window), tf.float32, name="observed"),
            tf.TensorSpec((None, spec.context_size), tf.float32, name="context"),
        )
        save_keras_and_onnx(model, signature, staging)
        for i, (branch, history) in enumerate(histories_by_branch.items()):
            name = "history.png" if i == 0 else f"history_{branch}.png"  # the first: general
            plot_history(history, staging / name, f"forecast: MAE of the {branch} correction")
        plot_test(test, predictions, staging / "forecast_vs_actual.png")
        plot_fans(test, predictions, bounds, staging / "forecast_intervals.png")
        return publish(
            staging,
            {
                "task": "forecast",
                "data": {"name": "+".join(sorted({p.dataset for p in trained})), "files": files},
                "hyperparameters": describe(config, histories_by_branch),
                "preprocessing": spec,
                "metrics": metrics | val_metrics | interval_metrics,
                "limits": {"min_length": spec.min_length, "max_horizon": spec.horizon},
                "training_seconds": round(time.monotonic() - started, 1),
                "input_profile": input_profile(trained, spec),
                "intervals": intervals,
            },
        )
