"""The trained forecaster on the official test parts, beside the baselines, for the report."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from app.artifacts import ForecastPreprocessing
from app.drift import forecast_statistics, reference_profile
from app.forecast_base import SeriesList
from app.forecast_intervals import Forecaster
from app.preprocessing import apply_correction, corrected_rows, forecast_inputs
from training.data.competitions import Problem
from training.data.windows import CHUNK, Samples, encode, test_samples
from training.forecast_eval import BASELINES, scores
from training.plots import plot_fan, plot_forecasts


def forecast(
    model: keras.Model, samples: Samples, spec: ForecastPreprocessing
) -> dict[str, np.ndarray]:
    """The model's forecasts, and its statistical base alone (the model without correction)."""
    inputs = encode(samples, spec)
    correction = model.predict(inputs.arrays, batch_size=2048, verbose=0)
    return {"model": apply_correction(inputs, correction, spec), "base": inputs.base}


def model_forecaster(model: keras.Model, spec: ForecastPreprocessing) -> Forecaster:
    """What serving's predictor forecasts for a list of series (app/tasks/forecast.py), by the
    Keras model; the network runs only on the rows whose season it corrects (the others get
    the base alone either way). The intervals' backtest calls it on the series' pasts."""

    def run(series: SeriesList, seasons: np.ndarray) -> np.ndarray:
        parts = [np.zeros((0, spec.horizon))]
        for start in range(0, len(series), CHUNK):
            inputs = forecast_inputs(
                series[start : start + CHUNK], seasons[start : start + CHUNK], spec
            )
            correction = np.zeros(inputs.base.shape, dtype=np.float32)
            rows = np.flatnonzero(corrected_rows(inputs.seasons, spec))
            if len(rows):
                arrays = {name: values[rows] for name, values in inputs.arrays.items()}
                correction[rows] = model.predict(arrays, batch_size=2048, verbose=0)
            parts.append(apply_correction(inputs, correction, spec))
        return np.concatenate(parts)

    return run


def evaluate(
    model: keras.Model,
    problems: list[Problem],
    spec: ForecastPreprocessing,
    statistical_baseline: bool,
    short_history: int,
) -> tuple[dict[str, float], Samples, np.ndarray]:
    """Model and baselines on the official test parts; also M4 hourly from short histories."""
    test = test_samples(problems, spec)
    methods = forecast(model, test, spec)
    for name, baseline in BASELINES.items():
        if name != "theta_sf" or statistical_baseline:
            methods[name] = baseline(test)
    metrics = scores(test, methods, "test/")
    predictions = methods["model"]
    hourly = [p for p in problems if p.dataset == "m4_hourly"]
    if hourly:
        short = test_samples(hourly, spec)
        short.histories = [h[-short_history:] for h in short.histories]
        cut = forecast(model, short, spec) | {"snaive": BASELINES["snaive"](short)}
        metrics |= scores(short, cut, f"short{short_history}/")
    return metrics, test, predictions


def plot_test(test: Samples, predictions: np.ndarray, path: Path) -> None:
    """A few test rows with a full horizon and at least three horizons of history."""
    horizon = test.targets.shape[1]
    rows = [
        i for i, h in enumerate(test.histories) if test.valid[i].all() and len(h) >= 3 * horizon
    ]
    if rows:
        inputs = np.stack([test.histories[i][-3 * horizon :] for i in rows])
        plot_forecasts(inputs, test.targets[rows], predictions[rows], path)


def plot_fans(test: Samples, predictions: np.ndarray, bounds: np.ndarray, path: Path) -> None:
    """A few test rows of each dataset with their 80% and 95% intervals (`bounds`: lower and
    upper of each, as training/forecast_intervals.py gives them)."""
    picked = []
    for dataset in sorted({g.split("/")[0] for g in test.groups}):
        rows = [i for i, g in enumerate(test.groups) if g.startswith(f"{dataset}/")]
        picked += rows[:: max(1, len(rows) // 2)][:2]
    if picked:
        plot_fan(
            [test.histories[i] for i in picked],
            test.targets[picked],
            test.valid[picked],
            predictions[picked],
            bounds[picked],
            [test.groups[i] for i in picked],
            path,
        )


def input_profile(problems: list[Problem], spec: ForecastPreprocessing) -> dict[str, list[float]]:
    """What the training series look like as requests (app/drift.py): serving compares the
    series it is sent with this. Seasons as serving would apply them to the series' own."""
    series = [p.history for p in problems]
    requested = np.array([p.season for p in problems], dtype=np.int64)
    seasons = forecast_inputs(series, requested, spec).seasons
    return reference_profile("forecast", forecast_statistics(series, seasons, spec.window))
