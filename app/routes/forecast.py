from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SettingsDep, model_dependency
from app.errors import ERROR_RESPONSES
from app.forecast_answers import answers, check_ids, check_intervals, prepare
from app.routes import json_response
from app.routes.json_body import JsonBodyRoute
from app.schemas.forecast import (
    BatchForecastRequest,
    BatchForecastResponse,
    ForecastRequest,
    ForecastResponse,
    IdentifiedForecast,
)
from app.tasks.forecast import Forecaster, check_limits

router = APIRouter(tags=["forecast"], responses=ERROR_RESPONSES, route_class=JsonBodyRoute)
ForecasterDep = Annotated[Forecaster, Depends(model_dependency("forecast"))]


@router.post("/forecast", response_model=ForecastResponse, response_model_exclude_none=True)
async def forecast(body: ForecastRequest, model: ForecasterDep, settings: SettingsDep) -> Response:
    """The next `horizon` values of one series, in its units, and the season applied; with
    `level` or `quantiles`, its prediction intervals or quantiles; `warnings` when the service
    filled gaps, inferred the season, or was asked for more than the series supports."""
    prepared = prepare([body.series], body, batch=False)
    check_limits(prepared.series, body, model, settings, batch=False)
    check_intervals(body, model)
    result = await model.forecast(
        prepared.series, body.horizon, body.season_code(), body.probabilities()
    )
    fields = answers(result, body, prepared)[0]
    return json_response(ForecastResponse(**fields, model=model.info.ref), exclude_none=True)


@router.post(
    "/forecast/batch", response_model=BatchForecastResponse, response_model_exclude_none=True
)
async def forecast_batch(
    body: BatchForecastRequest, model: ForecasterDep, settings: SettingsDep
) -> Response:
    """The next `horizon` values of each of several series, in one model call; `results` holds
    each series' answer in order, with its `id` when the request gave `ids`."""
    check_ids(body)
    prepared = prepare(body.series, body, batch=True)
    check_limits(prepared.series, body, model, settings, batch=True)
    check_intervals(body, model)
    result = await model.forecast(
        prepared.series, body.horizon, body.season_code(), body.probabilities()
    )
    ids: list[str | int | None] = list(body.ids) if body.ids else [None] * len(body.series)
    results = [
        IdentifiedForecast(id=sid, **fields)
        for sid, fields in zip(ids, answers(result, body, prepared), strict=True)
    ]
    labels = [f"series[{i}]" if sid is None else str(sid) for i, sid in enumerate(ids)]
    said = [f"{label}: {w}" for label, r in zip(labels, results, strict=True) for w in r.warnings]
    answer = BatchForecastResponse(
        forecasts=result.values.tolist(),
        seasons=result.seasons.tolist(),
        results=results,
        warnings=said,
        model=model.info.ref,
    )
    return json_response(answer, exclude_none=True)
