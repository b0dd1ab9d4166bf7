"""Typed dependencies for routes: settings, the registry, and the model a request addresses.

Settings and registry live on `app.state` (set by create_app), so a test app built with its own
settings and fake predictors needs no environment patching and no dependency overrides.
Every dependency is `async def` and reads `app.state` directly: a plain `def` dependency would
cost a round trip through the threadpool on every request (measured: /forecast CPU per request
0.95 ms -> 0.49 ms).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, Request

from app.artifacts import Task
from app.config import Settings
from app.exceptions import ModelNotFound
from app.metrics import Metrics
from app.registry import Registry
from app.stages import current_timeline
from app.tasks.base import Predictor
from app.workers import WorkerReadiness


async def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def _registry(request: Request) -> Registry:
    return cast(Registry, request.app.state.registry)


async def _metrics(request: Request) -> Metrics:
    return cast(Metrics, request.app.state.metrics)


async def _workers(request: Request) -> WorkerReadiness | None:
    return cast(WorkerReadiness | None, request.app.state.workers)


SettingsDep = Annotated[Settings, Depends(_settings)]
RegistryDep = Annotated[Registry, Depends(_registry)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
WorkersDep = Annotated[WorkerReadiness | None, Depends(_workers)]


def _model(request: Request, task: Task) -> Predictor:
    """The model a request addresses: /<task> is the task's default model; /models/{name}/<task>
    the named model's serving version; /models/{name}/versions/{version}/<task> that version.
    404 for no such model (or one of another task), 503 while it loads or after it failed."""
    params, registry = request.path_params, cast(Registry, request.app.state.registry)
    name = params.get("name") or registry.settings.default_model(task)
    version = params.get("version")
    if version is not None and not (version.isascii() and version.isdigit()):
        raise ModelNotFound(name, f"has no version {version!r}")
    model = registry.get(name, task, int(version) if version is not None else None)
    if (timeline := current_timeline.get()) is not None:  # for the request's log line
        timeline.model = f"{model.info.name}:{model.info.version}"
    return model


def model_dependency(task: Task) -> Callable[[Request], Awaitable[Predictor]]:
    """The dependency a task's routes declare, e.g.
    `ForecasterDep = Annotated[Forecaster, Depends(model_dependency("forecast"))]`."""

    async def addressed_model(request: Request) -> Predictor:
        return _model(request, task)

    return addressed_model
