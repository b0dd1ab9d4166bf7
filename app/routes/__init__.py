"""One router per resource; each route validates, calls a predictor off the event loop, shapes."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel


def json_response(body: BaseModel) -> Response:
    """The response already built and typed: serialise it once, in pydantic-core.

    Returning the model itself would make FastAPI validate it against the response model and
    encode it again; routes declare `response_model` for the schema and return this instead.
    """
    return Response(body.__pydantic_serializer__.to_json(body), media_type="application/json")
