from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from app.deps import SettingsDep, model_dependency
from app.errors import ERROR_RESPONSES
from app.routes import json_response
from app.routes.json_body import JsonBodyRoute
from app.schemas.sentiment import SentimentRequest, SentimentResponse
from app.tasks.sentiment import Classifier, check_limits

router = APIRouter(tags=["sentiment"], responses=ERROR_RESPONSES, route_class=JsonBodyRoute)
ClassifierDep = Annotated[Classifier, Depends(model_dependency("sentiment"))]


@router.post("/sentiment", response_model=SentimentResponse)
async def sentiment(
    body: SentimentRequest, model: ClassifierDep, settings: SettingsDep
) -> Response:
    """The label of each text and the probability of that label, in input order."""
    check_limits(body, settings)
    predictions = await model.classify(body.all_texts)
    return json_response(SentimentResponse(predictions=predictions, model=model.info.ref))
