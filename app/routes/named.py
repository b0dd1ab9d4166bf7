"""Every model route also by model name and by version, from the task routers themselves:

POST /forecast                                    the task's default model
POST /models/{name}/forecast                      that model's serving (highest) version
POST /models/{name}/versions/{version}/forecast   that version, while its policy serves it
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute

from app.repository import MODEL_NAME
from app.routes.json_body import JsonBodyRoute


async def _name(
    name: Annotated[str, Path(pattern=MODEL_NAME.pattern, description="model name")],
) -> None:
    """Declares and validates the path parameter; the predictor dependency reads it."""


async def _version(version: Annotated[int, Path(ge=1, description="model version")]) -> None:
    """Declares and validates the path parameter; the predictor dependency reads it."""


PREFIXES: tuple[tuple[str, list[DependsParam]], ...] = (
    ("/models/{name}", [Depends(_name)]),
    ("/models/{name}/versions/{version}", [Depends(_name), Depends(_version)]),
)


def named_routes(router: APIRouter) -> APIRouter:
    """The routes of a task router again, under each prefix above (same handlers, schemas)."""
    named = APIRouter(route_class=JsonBodyRoute)
    for route in router.routes:
        assert isinstance(route, APIRoute)
        for prefix, dependencies in PREFIXES:
            named.add_api_route(
                prefix + route.path,
                route.endpoint,
                methods=sorted(route.methods or ()),
                response_model=route.response_model,
                responses=route.responses,
                dependencies=dependencies,
                summary=route.summary,
                description=route.description,
                tags=route.tags,
                name=f"{route.name} ({prefix})",
            )
    return named
