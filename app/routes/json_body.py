"""Request bodies parsed by pydantic-core's JSON parser instead of the standard library's.

FastAPI parses a JSON body with `json.loads` and then validates the Python objects; for the
hundreds of numbers in a forecast body the parsing is most of that work (336 values, best of 9
on a busy 2-core machine: `json.loads` 106-152 us, pydantic-core's `from_json` 16-27 us). Routes
made with `JsonBodyRoute` parse the body once with `from_json` and hand the result to FastAPI,
which then validates it exactly as before: same schema, same strictness, same error answers.

A body `from_json` refuses (invalid JSON, a byte-order mark, a lone surrogate escape) is left
to FastAPI's own parsing, so what counts as invalid, and the error naming it, do not change.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pydantic_core
from fastapi import Request, Response
from fastapi.routing import APIRoute

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def parse_json(body: bytes) -> Any:
    """What `json.loads` would return for a body it accepts; ValueError for some it accepts too
    (see above). NaN and Infinity as json.loads reads them: the schema refuses them itself."""
    return pydantic_core.from_json(body, allow_inf_nan=True, cache_strings="keys")


class JsonBodyRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handle = super().get_route_handler()
        if self.body_field is None:
            return handle

        async def parse_body_once(request: Request) -> Response:
            body = await request.body()
            if body:
                try:
                    parsed = parse_json(body)
                except ValueError:
                    pass  # FastAPI parses it again and answers the error it always did
                else:
                    # Starlette's Request.json() returns what it finds here (requests.py).
                    setattr(request, "_json", parsed)  # noqa: B010
            return await handle(request)

        return parse_body_once
