"""Gaps in a series (JSON `null`, or an empty CSV cell in training data): the documented rules.

- Leading gaps are dropped: the series starts at its first value.
- After that, at most MAX_GAP_SHARE of the values may be gaps, and at most MAX_TRAILING_GAPS of
  them may come at the very end (the forecast starts after the last value, so a long run of
  unknown last values would make it a guess about a guess). Beyond either limit: `GapError`.
- Inner gaps are filled by linear interpolation between the nearest values on either side; when
  the season is known (requested, or given to training), first by interpolating between the
  same phase of the seasons before and after, and linearly where a phase has no value on one
  side.
- Trailing gaps get the value one season earlier when the season is known, else the last value.

Serving (app/forecast_answers.py) and training (a user's CSV, training/data/series.py) both
call `fill_gaps`, so the same series is filled the same way, bit for bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_GAP_SHARE = 0.2  # of the values after leading gaps are dropped
MAX_TRAILING_GAPS = 3


class GapError(ValueError):
    """The series has more gaps than the rules allow; the message says which rule."""


@dataclass
class Filled:
    values: np.ndarray  # float64, without leading gaps, every gap filled
    dropped: int  # leading gaps dropped
    filled: int  # gaps filled
    method: str  # how, in words; "" when nothing was filled


def as_array(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """float64 with NaN for each gap (None)."""
    if isinstance(values, np.ndarray):
        return values.astype(np.float64)
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def fill_gaps(values: Sequence[float | None] | np.ndarray, season: int) -> Filled:
    """The series with leading gaps dropped and the others filled; `season` > 1 when known."""
    y = as_array(values)
    gaps = np.isnan(y)
    if gaps.all():
        raise GapError("every value is null")
    dropped = int(np.argmax(~gaps))
    y, gaps = y[dropped:], gaps[dropped:]
    count, trailing = int(gaps.sum()), int(np.argmax(~gaps[::-1]))
    if count > MAX_GAP_SHARE * len(y):
        share = f"{count} of {len(y)} values are null"
        raise GapError(f"{share} (after leading nulls): at most {MAX_GAP_SHARE:.0%} may be")
    if trailing > MAX_TRAILING_GAPS:
        raise GapError(f"the last {trailing} values are null: at most {MAX_TRAILING_GAPS} may be")
    if not count:
        return Filled(y, dropped, 0, "")
    seasonal = 1 < season < len(y)
    if seasonal:
        for phase in range(season):
            y[phase::season] = _interpolate_inside(y[phase::season])
    y = _interpolate_inside(y)
    for t in range(len(y) - trailing, len(y)):
        y[t] = y[t - season] if seasonal and t >= season else y[t - 1]
    method = f"seasonal interpolation (season {season})" if seasonal else "linear interpolation"
    if trailing:
        last = "the value one season earlier" if seasonal else "the last value"
        method += f"; the last {trailing} with {last}"
    return Filled(y, dropped, count, method)


def _interpolate_inside(y: np.ndarray) -> np.ndarray:
    """Gaps with a value on both sides, interpolated linearly; the others left as they are."""
    gaps = np.isnan(y)
    known = np.flatnonzero(~gaps)
    if len(known) < 2:
        return y
    inside = np.flatnonzero(gaps)
    inside = inside[(inside > known[0]) & (inside < known[-1])]
    out = y.copy()
    out[inside] = np.interp(inside, known, y[known])
    return out
