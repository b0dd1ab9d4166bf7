from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SettingsDep, model_dependency
from app.errors import ERROR_RESPONSES
from app.routes import json_response
from app.schemas.forecast import (
    BatchForecastRequest,
    BatchForecastResponse,
    ForecastRequest,
    ForecastResponse,
)
from app.tasks.forecast import Forecaster, check_limits

router = APIRouter(tags=["forecast"], responses=ERROR_RESPONSES)
ForecasterDep = Annotated[Forecaster, Depends(model_dependency("forecast"))]


@router.post("/forecast", response_model=ForecastResponse)
async def forecast(body: ForecastRequest, model: ForecasterDep, settings: SettingsDep) -> Response:
    """The next `horizon` values of one series, in its units, and the season applied."""
    check_limits([body.series], body, model, settings, batch=False)
    result = await model.forecast([body.series], body.horizon, body.season_code())
    answer = ForecastResponse(
        forecast=result.values[0].tolist(), season=int(result.seasons[0]), model=model.info.ref
    )
    return json_response(answer)


@router.post("/forecast/batch", response_model=BatchForecastResponse)
async def forecast_batch(
    body: BatchForecastRequest, model: ForecasterDep, settings: SettingsDep
) -> Response:
    """The next `horizon` values of each of several series, in one model call."""
    check_limits(body.series, body, model, settings, batch=True)
    result = await model.forecast(body.series, body.horizon, body.season_code())
    answer = BatchForecastResponse(
        forecasts=result.values.tolist(), seasons=result.seasons.tolist(), model=model.info.ref
    )
    return json_response(answer)
