"""The application: settings, model loading in the lifespan, routers, middleware, error handlers.

`uvicorn app.main:app` serves the module-level app; building it reads settings but loads no
model. Models load in a background thread when the server starts, so /health answers at once and
/ready turns 200 when every enabled model is loaded and warmed up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import import_module, metadata
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from app.admission import (
    AdmissionMiddleware,
    ApiKeyMiddleware,
    BodyReaderMiddleware,
    ModelRoutes,
)
from app.artifacts import Task
from app.capture import Capture, CaptureMiddleware, DroppedLines
from app.config import Settings, get_settings
from app.errors import install_error_handlers
from app.logs import configure_logging
from app.metrics import Metrics
from app.middleware import REQUEST_ID_HEADER, OpenRequests, RequestContextMiddleware
from app.openai_api.errors import OpenAIErrorsMiddleware
from app.registry import Registry
from app.routes import admin, health, metrics, models, v2
from app.routes.docs import mount_docs
from app.routes.named import named_routes
from app.tasks import DECLARATIONS
from app.workers import WorkerReadiness

try:
    VERSION = metadata.version("seqserve")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0.0.0"


def _router(path: str) -> APIRouter:
    """ "app.routes.forecast:router" -> that APIRouter."""
    module, _, attribute = path.partition(":")
    router = getattr(import_module(module), attribute)
    assert isinstance(router, APIRouter), path
    return router


def create_app(
    settings: Settings | None = None, registry: Registry | None = None, span_exporter: Any = None
) -> FastAPI:
    """Build the app. Tests pass their own settings, a registry of fake predictors, and an
    in-memory span exporter when they enable tracing."""
    settings = settings or get_settings()
    registry = registry or Registry(settings)
    open_requests = OpenRequests()
    telemetry: TelemetryConfig | None = None
    spans = None
    if settings.tracing:  # imports OpenTelemetry's SDK only now
        from app.tracing import tracing

        telemetry, spans = tracing(settings, span_exporter)

    capture = None
    if settings.capture_file is not None:
        capture = Capture(
            settings.capture_file, settings.capture_max_file_bytes, settings.capture_backups
        )

    workers = None  # with several workers: /ready waits for every one (app/workers.py)
    if settings.workers > 1 and settings.multiprocess_dir is not None:
        workers = WorkerReadiness(settings.multiprocess_dir, settings.workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.log_format)
        registry.start_loading()  # returns at once; a no-op if the registry is already loaded
        following = workers and asyncio.create_task(workers.follow(lambda: registry.ready))
        yield
        if following:
            following.cancel()
        await open_requests.drained(timeout=2.0)
        if capture is not None:
            capture.close()  # writes out what is still queued

    app = FastAPI(
        title="seqserve",
        version=VERSION,
        summary="Recurrent sequence models over JSON: forecast, sentiment, generate.",
        lifespan=lifespan,
        docs_url=None,  # served by mount_docs, without a CDN
        redoc_url=None,
        # No redirect from /forecast/ to /forecast: it echoed the Host header, and ran before the
        # API key was checked. A path is served exactly as documented, or 404.
        redirect_slashes=False,
        telemetry=telemetry,  # None: FastAPI's default, which does nothing without a provider
    )
    app.state.settings = settings
    app.state.registry = registry
    app.state.workers = workers
    app.state.metrics = Metrics(registry, settings.multiprocess_dir)
    registry.batch_observer = app.state.metrics
    install_error_handlers(app)
    # The model routes first: FastAPI tries the included routers in order, and trying the others
    # first cost 10% of a /forecast request's CPU (profiled). No two routes share a path.
    task_paths: dict[str, Task] = {}
    for task in settings.tasks:  # a disabled task has no routes at all: 404, not 503
        declaration = DECLARATIONS[task]
        router = _router(declaration.router)
        app.include_router(router)
        app.include_router(named_routes(router))
        task_paths |= {route.path: task for route in router.routes}  # type: ignore[attr-defined]
        for extra in declaration.extra_routers:
            app.include_router(_router(extra))
    for router in (health.router, models.router, metrics.router, v2.router):
        app.include_router(router)
    mount_docs(app)
    if settings.api_key is not None:  # administration exists only behind a key
        app.include_router(admin.router)
    # Derived from the routers: every model route needs the key and takes an admission slot.
    model_routes = ModelRoutes(task_paths, settings.default_model)

    # Added innermost first. A request takes an admission slot only once it is authorised and
    # its body has arrived; the request context (id, log line, metrics) wraps every answer.
    if capture is not None:  # the sampled exchanges of requests that reached their model
        app.add_middleware(
            CaptureMiddleware,
            capture=capture,
            fraction=settings.capture_fraction,
            max_field_bytes=settings.capture_max_field_bytes,
            is_model_route=lambda path: model_routes.model(path) is not None,
        )
        app.state.metrics.register(DroppedLines(capture))
    app.add_middleware(AdmissionMiddleware, limit=settings.max_in_flight, routes=model_routes)
    app.add_middleware(
        BodyReaderMiddleware,
        max_bytes=settings.max_body_bytes,
        timeout=settings.body_timeout_seconds,
        routes=model_routes,
    )
    if settings.api_key is not None:
        app.add_middleware(
            ApiKeyMiddleware, key=settings.api_key.get_secret_value(), routes=model_routes
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER],
        )
    app.add_middleware(OpenAIErrorsMiddleware)  # every error on /v1/, whichever layer made it
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        open_requests=open_requests,
        spans=spans,
    )
    return app


app = create_app()
