"""What /forecast and /forecast/batch do around the model: gaps in, warnings and intervals out.

`prepare` fills the gaps of each series (app/forecast_gaps.py) and checks the request's ids;
`answers` shapes each series' forecast, intervals, quantiles and warnings. Warnings say what the
service did that the client should know: values dropped or filled, a season inferred, a series
too short for what was asked, a horizon beyond what the model was evaluated on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.exceptions import ErrorDetail, InvalidRequest
from app.forecast_gaps import GapError, fill_gaps
from app.schemas.forecast import BatchForecastRequest, ForecastOptions, Interval, Quantile
from app.tasks.forecast import Forecaster, Forecasts


@dataclass
class Prepared:
    series: list[Sequence[float]]  # gaps filled
    warnings: list[list[str]]  # per series, what filling did


def prepare(
    series: Sequence[Sequence[float | None]], options: ForecastOptions, *, batch: bool
) -> Prepared:
    """Each series with its gaps filled; 422 naming every series that breaks a gap rule."""
    out: list[Sequence[float]] = []
    notes: list[list[str]] = []
    problems = []
    for i, values in enumerate(series):
        if None not in values:  # the usual case: no copy, nothing to say
            out.append(values)  # type: ignore[arg-type]  # no None in it
            notes.append([])
            continue
        try:
            filled = fill_gaps(values, options.season_code())
        except GapError as gap:
            field = f"body.series[{i}]" if batch else "body.series"
            problems.append(ErrorDetail(field=field, message=str(gap)))
            continue
        out.append(filled.values.tolist())
        notes.append(_gap_warnings(filled.dropped, filled.filled, filled.method))
    if problems:
        raise InvalidRequest(problems)
    return Prepared(out, notes)


def _gap_warnings(dropped: int, filled: int, method: str) -> list[str]:
    said = [f"{dropped} leading null{'s' * (dropped > 1)} dropped"] if dropped else []
    if filled:
        said.append(f"{filled} null value{'s' * (filled > 1)} filled by {method}")
    return said


def check_ids(body: BatchForecastRequest) -> None:
    """One id per series, no two alike (ids are compared, never interpreted)."""
    if body.ids is None:
        return
    if len(body.ids) != len(body.series):
        message = f"{len(body.ids)} ids for {len(body.series)} series: one id per series"
        raise InvalidRequest([ErrorDetail(field="body.ids", message=message)])
    seen: dict[tuple[type, str | int], int] = {}
    for i, sid in enumerate(body.ids):
        first = seen.setdefault((type(sid), sid), i)
        if first != i:
            message = f"duplicate of body.ids[{first}]"
            raise InvalidRequest([ErrorDetail(field=f"body.ids[{i}]", message=message)])


def check_intervals(options: ForecastOptions, model: Forecaster) -> None:
    """Intervals need a model whose artifact holds their calibration."""
    if model.has_intervals or not options.probabilities():
        return
    field = "body.level" if options.level else "body.quantiles"
    message = (
        f"model {model.info.name} version {model.info.version} has no interval calibration "
        "(trained before intervals existed): retrain it, or ask for the point forecast only"
    )
    raise InvalidRequest([ErrorDetail(field=field, message=message)])


def answers(
    result: Forecasts, options: ForecastOptions, prepared: Prepared
) -> list[dict[str, Any]]:
    """Per series: forecast, season, intervals and quantiles when asked, warnings."""
    levels, wanted = options.level or [], options.quantiles or []
    out = []
    for i, values in enumerate(result.values):
        fields: dict[str, Any] = {"forecast": values.tolist(), "season": int(result.seasons[i])}
        if result.quantiles is not None:
            q = result.quantiles[i]  # [horizon, probabilities]: levels' bounds, then quantiles
            if levels:
                fields["intervals"] = [
                    Interval(level=lv, lower=q[:, 2 * k].tolist(), upper=q[:, 2 * k + 1].tolist())
                    for k, lv in enumerate(levels)
                ]
            if wanted:
                first = 2 * len(levels)
                fields["quantiles"] = [
                    Quantile(quantile=p, values=q[:, first + k].tolist())
                    for k, p in enumerate(wanted)
                ]
        fields["warnings"] = prepared.warnings[i] + _warnings(result, i, options, prepared)
        out.append(fields)
    return out


def _warnings(result: Forecasts, i: int, options: ForecastOptions, prepared: Prepared) -> list[str]:
    said = []
    code, applied = options.season_code(), int(result.seasons[i])
    length, horizon = len(prepared.series[i]), options.horizon
    if code == 0:
        found = f"inferred {applied}" if applied > 1 else "none found in the series"
        said.append(f"season not given: {found}")
    elif code > 1 and length < 3 * code:
        said.append(f"{length} values, fewer than three seasons of {code}: no season applied")
    if length < 2 * horizon:
        said.append(f"{length} values, fewer than twice the horizon: little history to go on")
    if result.evaluated is not None and horizon > result.evaluated[i]:
        said.append(
            f"horizon {horizon} is beyond the {result.evaluated[i]} steps the model was "
            "evaluated on for such series: later steps are extrapolated"
        )
    return said
