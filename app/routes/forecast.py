from __future__ import annotations

from fastapi import APIRouter, Response

from app.deps import ForecasterDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.tasks.base import json_response
from app.tasks.forecast import (
    BatchForecastRequest,
    BatchForecastResponse,
    ForecastRequest,
    ForecastResponse,
    check_limits,
)

router = APIRouter(tags=["forecast"], responses=ERROR_RESPONSES)


@router.post("/forecast", response_model=ForecastResponse)
async def forecast(body: ForecastRequest, model: ForecasterDep, settings: SettingsDep) -> Response:
    """The next `horizon` values of one series, in its units."""
    check_limits([body.series], body.horizon, model, settings, batch=False)
    values = await model.forecast([body.series], body.horizon)
    return json_response(ForecastResponse(forecast=values[0].tolist(), model=model.info.ref))


@router.post("/forecast/batch", response_model=BatchForecastResponse)
async def forecast_batch(
    body: BatchForecastRequest, model: ForecasterDep, settings: SettingsDep
) -> Response:
    """The next `horizon` values of each of several series, in one model call."""
    check_limits(body.series, body.horizon, model, settings, batch=True)
    values = await model.forecast(body.series, body.horizon)
    return json_response(BatchForecastResponse(forecasts=values.tolist(), model=model.info.ref))
