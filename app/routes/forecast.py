from __future__ import annotations

from fastapi import APIRouter

from app.deps import ForecasterDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.tasks.forecast import (
    BatchForecastRequest,
    BatchForecastResponse,
    ForecastRequest,
    ForecastResponse,
    check_limits,
)

router = APIRouter(tags=["forecast"], responses=ERROR_RESPONSES)


@router.post("/forecast")
async def forecast(
    body: ForecastRequest, model: ForecasterDep, settings: SettingsDep
) -> ForecastResponse:
    """The next `horizon` values of one series, in its units."""
    check_limits([body.series], body.horizon, model, settings, batch=False)
    values = await model.forecast([body.series], body.horizon)
    return ForecastResponse(forecast=values[0].tolist(), model=model.info.ref)


@router.post("/forecast/batch")
async def forecast_batch(
    body: BatchForecastRequest, model: ForecasterDep, settings: SettingsDep
) -> BatchForecastResponse:
    """The next `horizon` values of each of several series, in one model call."""
    check_limits(body.series, body.horizon, model, settings, batch=True)
    values = await model.forecast(body.series, body.horizon)
    return BatchForecastResponse(forecasts=values.tolist(), model=model.info.ref)
