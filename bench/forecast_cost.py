"""Per-call CPU cost of the forecast predictor: numpy preprocessing, then ONNX, in-process.

`python -m bench.forecast_cost [models/forecast/1]`: one 336-value hourly-looking series (season
inferred, then `freq` hourly) and 32 such series in one call. CPU time per call (best of five
rounds of `repeats` calls), after one call that compiles the base kernel. With a model trained
with intervals, also the whole predictor call (48 steps) without and with 80% and 95% intervals.
"""

from __future__ import annotations

import math
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from app.artifacts import ForecastPreprocessing, read_metadata, resolve_version
from app.forecast_intervals import level_probabilities
from app.preprocessing import forecast_inputs
from app.runtime.onnx import OnnxRuntime
from app.tasks.base import ModelInfo
from app.tasks.forecast import ForecastPredictor
from bench.options import Options, option, parse


@dataclass(frozen=True)
class VersionOptions(Options):
    version_dir: Path | None = option(
        None, "a forecast version directory (default: the latest under --models-dir)",
        positional=True, nargs="?",
    )  # fmt: skip

    @property
    def forecast_dir(self) -> Path:
        return self.version_dir or resolve_version(self.models_dir / "forecast")


def forecast_predictor(version_dir: Path) -> ForecastPredictor:
    """The predictor on one ONNX Runtime thread, without the service's batching or drift
    profile: only the work of one call."""
    metadata = read_metadata(version_dir)
    spec = metadata.preprocessing
    assert isinstance(spec, ForecastPreprocessing)
    runtime = OnnxRuntime(version_dir / "model.onnx", 1)
    info = ModelInfo(name="forecast", version="?")
    return ForecastPredictor(runtime, spec, info, intervals=metadata.intervals)


def main(argv: list[str] | None = None, repeats: int = 100) -> None:
    options = parse(VersionOptions, argv, "python -m bench.forecast_cost", __doc__)
    model = forecast_predictor(options.forecast_dir)
    spec = model.spec
    one = [100 + 20 * math.sin(2 * math.pi * t / 24) for t in range(336)]
    noise = np.random.default_rng(0).normal(size=(32, 336))
    many = [list(np.array(one) + row) for row in noise]
    for name, rows, code in (
        ("1 series, season inferred", [one], 0),
        ("1 series, freq hourly", [one], 24),
        ("32 series, seasons inferred", many, 0),
    ):
        codes = np.full(len(rows), code)
        model.predict(rows, codes)  # compiles the base kernel (serving does it at warm-up)
        pre = _per_call(partial(forecast_inputs, rows, codes, spec), repeats)
        full = _per_call(partial(model.predict, rows, codes), repeats)
        print(f"{name}: preprocessing {pre * 1e3:.2f} ms, preprocessing + ONNX {full * 1e3:.2f} ms")
        if model.has_intervals:
            plain = _per_call(partial(model.predict_jobs, [(rows, 48, code, ())]), repeats)
            job = (rows, 48, code, level_probabilities((80, 95)))
            fans = _per_call(partial(model.predict_jobs, [job]), repeats)
            print(
                f"  48 steps: {plain * 1e3:.2f} ms, with 80% and 95% intervals {fans * 1e3:.2f} ms"
            )


def _per_call(call: Callable[[], object], repeats: int) -> float:
    """CPU seconds per call, the best of five rounds: on a shared machine wall time mostly
    measures the neighbours."""
    timer = timeit.Timer(call, timer=time.process_time)
    return min(timer.repeat(5, repeats)) / repeats


if __name__ == "__main__":
    main()
