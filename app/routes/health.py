from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.deps import RegistryDep, WorkersDep
from app.errors import ErrorBody, error_response
from app.exceptions import ErrorDetail

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    models: dict[str, str]  # model name -> the version requests without a number get


# HEAD answers as GET does, without the body: load balancers and uptime checkers probe with it.
@router.head("/health", include_in_schema=False)
@router.get("/health")
async def health() -> Health:
    """Liveness: 200 while the process runs, whatever state the models are in."""
    return Health()


@router.head("/ready", include_in_schema=False, response_model=Ready)
@router.get("/ready", responses={503: {"model": ErrorBody}}, response_model=Ready)
async def ready(registry: RegistryDep, workers: WorkersDep) -> Ready | JSONResponse:
    """Readiness: 200 once every enabled model is loaded and warmed up (in every worker process,
    with SEQSERVE_WORKERS), else 503 with reasons."""
    statuses = registry.statuses()
    # Siblings are counted (a directory listing) only once this worker is ready itself.
    if (
        registry.ready
        and workers is not None
        and (ready_workers := workers.ready_workers()) < workers.workers
    ):
        message = f"{ready_workers} of {workers.workers} worker processes ready"
        return error_response(503, message, "not_ready")
    if registry.ready:
        return Ready(models={s.name: s.predictor.info.version for s in statuses if s.predictor})
    details = [
        ErrorDetail(field=s.name, message=s.state + (f": {s.reason}" if s.reason else ""))
        for s in statuses
    ]
    waiting = sum(s.state != "ready" for s in statuses)
    message = f"{waiting} of {len(statuses)} models not ready"
    return error_response(503, message, "not_ready", details)
