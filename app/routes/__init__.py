"""One router per resource; each route validates, calls a predictor off the event loop, shapes."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(body: BaseModel, exclude_none: bool = False) -> Response:
    """The response already built and typed: serialise it once, in pydantic-core.

    Returning the model itself would make FastAPI validate it against the response model and
    encode it again; routes declare `response_model` for the schema and return this instead.
    """
    content = body.__pydantic_serializer__.to_json(body, exclude_none=exclude_none)
    return Response(content, media_type="application/json")
