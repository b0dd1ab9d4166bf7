"""What a model is being sent, against what it was trained on.

Per task a few cheap statistics of each input (and of the sentiment model's output), each binned
on fixed edges. Training stores the share of its own data in every bin (`input_profile` in the
artifact's metadata, from `reference_profile`); serving keeps the bins of the last
`WINDOW` observations per model version and compares the two with the population stability
index (PSI: below 0.1 stable, 0.1-0.25 a shift, above 0.25 a different population, by the usual
rule of thumb). The same functions compute the statistics on both sides, so they agree.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np

WINDOW = 2000  # observations kept per statistic
MIN_OBSERVATIONS = 100  # fewer: no drift score yet
_EPSILON = 1e-4  # stands in for an empty bin's share, so PSI stays finite
_LENGTHS = (8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)

# Statistic -> inner bin edges (a value v falls in bin searchsorted(edges, v, "right")).
EDGES: Mapping[str, Mapping[str, tuple[float, ...]]] = {
    "forecast": {
        "length": _LENGTHS,  # values in the series
        "log10_scale": tuple(float(e) for e in range(-3, 10)),  # of its mean absolute value
        "season": (1.5, 3.5, 5.5, 8.5, 13.5, 25.5, 53.5),  # applied: 1, 2-3, 4-5, 6-8, ...
        "shorter_than_window": (0.5,),  # 1 when the network's window had to be padded
    },
    "sentiment": {
        "tokens": _LENGTHS,
        "unknown_share": (0.01, 0.05, 0.1, 0.2, 0.3, 0.5),  # out-of-vocabulary tokens
        "positive": tuple(np.round(np.arange(0.1, 1.0, 0.1), 1)),  # the model's P(positive)
    },
    "generate": {
        "prompt_chars": (1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
        "unknown_share": (0.001, 0.01, 0.05, 0.1, 0.25, 0.5),  # characters it has no id for
    },
}


def forecast_statistics(
    series: Sequence[Sequence[float] | np.ndarray], seasons: np.ndarray, window: int
) -> dict[str, np.ndarray]:
    """Per series: its length, the scale of its last `window` values, the season applied."""
    lengths = np.array([len(values) for values in series], dtype=np.int64)
    mean_abs = np.array([np.abs(np.asarray(v[-window:], dtype=np.float64)).mean() for v in series])
    return {
        "length": lengths.astype(np.float64),
        "log10_scale": np.log10(np.maximum(mean_abs, 1e-300)),
        "season": seasons.astype(np.float64),
        "shorter_than_window": (lengths < window).astype(np.float64),
    }


def sentiment_statistics(
    token_ids: np.ndarray, pad_id: int, oov_id: int, positive: np.ndarray
) -> dict[str, np.ndarray]:
    tokens = (token_ids != pad_id).sum(axis=1)
    unknown = (token_ids == oov_id).sum(axis=1) / np.maximum(tokens, 1)
    return {"tokens": tokens.astype(np.float64), "unknown_share": unknown, "positive": positive}


def generate_statistics(prompts: Sequence[str], known: Mapping[str, int]) -> dict[str, np.ndarray]:
    sizes = np.array([len(p) for p in prompts], dtype=np.float64)
    unknown = np.array([sum(c not in known for c in p) for p in prompts], dtype=np.float64)
    return {"prompt_chars": sizes, "unknown_share": unknown / np.maximum(sizes, 1)}


def _bins(edges: tuple[float, ...], values: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(edges), values, side="right")


def reference_profile(task: str, statistics: Mapping[str, np.ndarray]) -> dict[str, list[float]]:
    """The share of the training data in each bin of each statistic (stored by training)."""
    profile = {}
    for name, edges in EDGES[task].items():
        counts = np.bincount(_bins(edges, statistics[name]), minlength=len(edges) + 1)
        profile[name] = [round(float(c), 6) for c in counts / max(counts.sum(), 1)]
    return profile


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """Population stability index of two distributions over the same bins."""
    p = np.maximum(np.asarray(expected, dtype=np.float64), _EPSILON)
    q = np.maximum(np.asarray(actual, dtype=np.float64), _EPSILON)
    return float(np.sum((q - p) * np.log(q / p)))


class InputProfile:
    """The last WINDOW observations of one model version, binned; thread-safe."""

    def __init__(self, task: str, reference: Mapping[str, Sequence[float]] | None) -> None:
        self.edges = EDGES[task]
        self.reference = dict(reference or {})
        self._bins = {name: np.zeros(WINDOW, dtype=np.int16) for name in self.edges}
        self._sums = {name: np.zeros(WINDOW) for name in self.edges}
        self._seen = 0
        self._lock = threading.Lock()

    def observe(self, statistics: Mapping[str, np.ndarray]) -> None:
        with self._lock:
            count = len(next(iter(statistics.values())))
            slots = (self._seen + np.arange(count)) % WINDOW
            for name, edges in self.edges.items():
                values = np.asarray(statistics[name], dtype=np.float64)
                self._bins[name][slots] = _bins(edges, values)
                self._sums[name][slots] = values
            self._seen += count

    def summary(self) -> dict[str, object]:
        """Per statistic: the mean over the window and, once there are enough observations and
        a training reference, its PSI; `drift` is the largest PSI."""
        with self._lock:
            kept = min(self._seen, WINDOW)
            out: dict[str, object] = {"observations": self._seen, "window": kept}
            scores: list[float] = []
            for name, edges in self.edges.items():
                stat: dict[str, float | None] = {"mean": None, "psi": None}
                if kept:
                    stat["mean"] = round(float(self._sums[name][:kept].mean()), 6)
                    shares = np.bincount(self._bins[name][:kept], minlength=len(edges) + 1)
                    if kept >= MIN_OBSERVATIONS and name in self.reference:
                        score = round(psi(self.reference[name], shares / kept), 6)
                        stat["psi"] = score
                        scores.append(score)
                out[name] = stat
            out["drift"] = max(scores) if scores else None
            return out
