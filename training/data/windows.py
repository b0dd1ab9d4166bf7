"""Forecast origins cut from problems' histories, and their encoding for the network.

Training origins leave the last `horizon` values of every history alone: those are the
validation targets (one per series, at the official horizon). The official test values are
never cut here; `test_samples` pairs each full history with its future for reporting only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from app.artifacts import ForecastPreprocessing
from app.preprocessing import ForecastInputs, forecast_inputs
from training.data.competitions import Problem

CHUNK = 1024  # rows encoded at a time: bounds memory for [rows, history] float64 arrays


@dataclass
class Samples:
    histories: list[np.ndarray]  # values up to each forecast origin
    targets: np.ndarray  # [n, horizon] values after it, zero where not valid
    valid: np.ndarray  # [n, horizon] bool
    seasons: np.ndarray  # [n] the problem's seasonal period
    groups: list[str]  # "dataset/group" of each row


def _samples(rows: list[tuple[Problem, np.ndarray, np.ndarray]], horizon: int) -> Samples:
    targets = np.zeros((len(rows), horizon))
    valid = np.zeros((len(rows), horizon), dtype=bool)
    for i, (_, _, target) in enumerate(rows):
        targets[i, : len(target)] = target[:horizon]
        valid[i, : len(target)] = True
    return Samples(
        [history for _, history, _ in rows],
        targets,
        valid,
        np.array([p.season for p, _, _ in rows], dtype=np.int64),
        [f"{p.dataset}/{p.group}" for p, _, _ in rows],
    )


def training_samples(
    problems: list[Problem],
    spec: ForecastPreprocessing,
    per_series: int,
    seed: int,
    short_fraction: float = 0.0,
    min_history: int = 0,
) -> Samples:
    """Up to `per_series` random origins per 250 values of history (at least `per_series`);
    targets run up to twice the official horizon but stop before the validation part. Origins
    have at least `min_history` values before them where the history allows it. A
    `short_fraction` of the origins keep only a random last min_length..window values of their
    history: long series then also teach the net what short requests look like."""
    rng = np.random.default_rng(seed)
    rows = []
    for problem in problems:
        end = len(problem.history) - problem.horizon  # validation starts here
        first = max(spec.min_length, min_history) if end > min_history else spec.min_length
        origins = np.arange(first, end)
        count = per_series * max(1, len(problem.history) // 250)
        for origin in rng.permutation(origins)[:count]:
            stop = min(origin + 2 * problem.horizon, end)
            start = 0
            if short_fraction and rng.random() < short_fraction:
                start = max(0, origin - int(rng.integers(spec.min_length, spec.window + 1)))
            rows.append((problem, problem.history[start:origin], problem.history[origin:stop]))
    return _samples(rows, spec.horizon)


def subset(samples: Samples, rows: np.ndarray) -> Samples:
    return Samples(
        [samples.histories[i] for i in rows],
        samples.targets[rows],
        samples.valid[rows],
        samples.seasons[rows],
        [samples.groups[i] for i in rows],
    )


def joined(parts: list[Samples]) -> Samples:
    return Samples(
        [h for p in parts for h in p.histories],
        np.concatenate([p.targets for p in parts]),
        np.concatenate([p.valid for p in parts]),
        np.concatenate([p.seasons for p in parts]),
        [g for p in parts for g in p.groups],
    )


def validation_samples(problems: list[Problem], spec: ForecastPreprocessing) -> Samples:
    """The last official horizon of each history, forecast from the values before it."""
    rows = [
        (p, p.history[: -p.horizon], p.history[-p.horizon :])
        for p in problems
        if len(p.history) - p.horizon >= spec.min_length
    ]
    return _samples(rows, spec.horizon)


def test_samples(problems: list[Problem], spec: ForecastPreprocessing) -> Samples:
    return _samples([(p, p.history, p.future) for p in problems], spec.horizon)


def encode(samples: Samples, spec: ForecastPreprocessing) -> ForecastInputs:
    """forecast_inputs (the serving code) over all rows, a chunk at a time."""
    parts = [
        forecast_inputs(
            samples.histories[start : start + CHUNK], samples.seasons[start : start + CHUNK], spec
        )
        for start in tqdm(range(0, len(samples.histories), CHUNK), desc="encode", leave=False)
    ]
    return ForecastInputs(
        {k: np.concatenate([p.arrays[k] for p in parts]) for k in parts[0].arrays},
        np.concatenate([p.base for p in parts]),
        np.concatenate([p.scale for p in parts]),
        np.concatenate([p.seasons for p in parts]),
    )


def residual_targets(samples: Samples, inputs: ForecastInputs) -> np.ndarray:
    """[n, 2 x horizon] float32: (target - base) / scale where valid, then the valid mask; the
    loss reads both halves, so steps past a series' horizon cost nothing."""
    residual = np.where(samples.valid, (samples.targets - inputs.base) / inputs.scale, 0.0)
    return np.concatenate([residual, samples.valid], axis=1).astype(np.float32)
