"""Time-series loaders: M4 hourly, ETTh1 and a user's CSV, all returned as `SeriesData`.

Every series is cut by time into three consecutive parts: values before `train_end` train the
model, `[train_end, val_end)` validates it, `[val_end, len)` is the held-out test. Nothing is
shuffled across those borders.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.forecast_gaps import GapError, fill_gaps
from training.data.files import (
    ETTH1,
    M4_HOURLY_TEST,
    M4_HOURLY_TRAIN,
    DataError,
    fingerprint,
    locate,
)


@dataclass
class SeriesData:
    name: str
    ids: list[str]
    series: list[np.ndarray]  # full series, float64
    train_end: list[int]
    val_end: list[int]
    season: int
    files: dict[str, str]  # file name -> sha256


def _rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each CSV row, with a clear error for undecodable bytes."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            yield from enumerate(csv.reader(handle), start=1)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from exc


def _number(path: Path, line: int, cell: str, column: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{path}, line {line}, column {column}: {cell!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{path}, line {line}, column {column}: {cell!r} is not finite")
    return value


def _wide_rows(path: Path) -> dict[str, np.ndarray]:
    """M4's layout: header `V1,V2,...`, then one series per row, right-padded with empty cells."""
    series: dict[str, np.ndarray] = {}
    for line, cells in _rows(path):
        if line == 1:
            if not cells or cells[0].strip('"') != "V1":
                raise DataError(f"{path}, line 1: expected an M4 header starting with V1")
            continue
        values = [c for c in cells[1:] if c.strip() != ""]
        if not values:
            raise DataError(f"{path}, line {line}: series {cells[:1]} has no values")
        series[cells[0]] = np.array(
            [_number(path, line, c, f"V{i + 2}") for i, c in enumerate(values)]
        )
    if not series:
        raise DataError(f"{path}: no series found")
    return series


def load_m4_hourly(data_dir: Path, download: bool = False) -> SeriesData:
    """414 hourly series; the test file holds the 48 values after each training series."""
    train_path = locate(M4_HOURLY_TRAIN, data_dir, download)
    test_path = locate(M4_HOURLY_TEST, data_dir, download)
    train, test = _wide_rows(train_path), _wide_rows(test_path)
    if train.keys() != test.keys():
        raise DataError(f"{train_path} and {test_path} hold different series ids")
    ids = list(train)
    series = [np.concatenate([train[i], test[i]]) for i in ids]
    horizon = len(test[ids[0]])
    return SeriesData(
        name="m4_hourly",
        ids=ids,
        series=series,
        train_end=[len(train[i]) - horizon for i in ids],
        val_end=[len(train[i]) for i in ids],
        season=24,
        files=fingerprint(train_path, test_path),
    )


def load_etth1(data_dir: Path, download: bool = False, column: str = "OT") -> SeriesData:
    """The `OT` column with the standard Informer split: 12 / 4 / 4 months of hourly rows."""
    path = locate(ETTH1, data_dir, download)
    values = _column_values(path, column)[:14400]
    return SeriesData("etth1", [column], [values], [8640], [11520], 24, fingerprint(path))


def _column_values(path: Path, column: str | None, gaps: bool = False) -> np.ndarray:
    """One numeric column, by header name, or the first column of a file with an optional header;
    with `gaps`, an empty cell is a gap (NaN)."""
    values: list[float] = []
    index = 0
    for line, cells in _rows(path):
        if line == 1 and column is not None:
            if column not in cells:
                raise DataError(f"{path}, line 1: no column {column!r} in header {cells}")
            index = cells.index(column)
            continue
        if line == 1 and cells and _is_header(cells[0]):
            continue
        if gaps and not cells:  # an empty line of a one-column file: a gap
            cells = [""]
        if len(cells) <= index:
            raise DataError(f"{path}, line {line}: expected at least {index + 1} columns")
        cell = cells[index]
        values.append(
            math.nan if gaps and not cell.strip() else _number(path, line, cell, column or "1")
        )
    if not values:
        raise DataError(f"{path}: no values found")
    return np.array(values)


def _is_header(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return True
    return False


def load_series_csv(path: Path, horizon: int, season: int, min_length: int) -> SeriesData:
    """A user's CSV: one numeric column (optional header), or long format `unique_id,ds,y`.
    Empty values are gaps, dropped at the start and filled elsewhere as serving does.

    The last `horizon` values of each series are the test, the `horizon` before them validate.
    """
    if not path.is_file():
        raise DataError(f"series file not found: {path}")
    header = next((cells for _, cells in _rows(path)), [])
    if [c.strip() for c in header[:3]] == ["unique_id", "ds", "y"]:
        ids, series = _long_format(path)
    else:
        ids, series = [path.stem], [_column_values(path, None, gaps=True)]
    series = [_filled(path, i, s, season) for i, s in zip(ids, series, strict=True)]
    too_short = [i for i, s in zip(ids, series, strict=True) if len(s) < min_length]
    if too_short:
        raise DataError(
            f"{path}: series {too_short[:5]} have fewer than {min_length} values "
            f"(window + 2 x horizon)"
        )
    return SeriesData(
        name=path.stem,
        ids=ids,
        series=series,
        train_end=[len(s) - 2 * horizon for s in series],
        val_end=[len(s) - horizon for s in series],
        season=season,
        files=fingerprint(path),
    )


def _long_format(path: Path) -> tuple[list[str], list[np.ndarray]]:
    by_id: dict[str, list[tuple[str, float]]] = {}
    for line, cells in _rows(path):
        if line == 1:
            continue
        if len(cells) < 3:
            raise DataError(f"{path}, line {line}: expected unique_id,ds,y")
        y = math.nan if not cells[2].strip() else _number(path, line, cells[2], "y")
        by_id.setdefault(cells[0], []).append((cells[1], y))
    if not by_id:
        raise DataError(f"{path}: no rows after the header")
    # Rows may come in any order; ISO timestamps sort chronologically as strings.
    return list(by_id), [np.array([y for _, y in sorted(rows)]) for rows in by_id.values()]


def _filled(path: Path, name: str, values: np.ndarray, season: int) -> np.ndarray:
    """Empty cells filled as serving fills a request's nulls (app/forecast_gaps.py)."""
    try:
        return fill_gaps(values, season).values
    except GapError as exc:
        raise DataError(f"{path}: series {name!r}: {exc}") from None
