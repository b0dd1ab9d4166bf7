"""The model repository as clients see it: every model, its task, versions, states and reasons."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.artifacts import Task
from app.deps import RegistryDep
from app.errors import ERROR_RESPONSES
from app.registry import ModelStatus, State
from app.tasks.base import ModelInfo

router = APIRouter(tags=["models"])


class VersionEntry(BaseModel):
    version: int | None
    state: State
    reason: str | None = None
    info: ModelInfo | None = None  # present once that version is loaded


class ModelEntry(BaseModel):
    name: str
    task: Task
    state: State = Field(description="ready while any version serves")
    reason: str | None = Field(default=None, description="why the newest failed version failed")
    info: ModelInfo | None = Field(default=None, description="the serving (highest ready) version")
    versions: list[VersionEntry]
    inputs: dict[str, Any] | None = Field(
        default=None,
        description="what the serving version is being sent: per statistic the mean over its "
        "last requests and the PSI against its training data; `drift` is the largest PSI",
    )


class ModelList(BaseModel):
    models: list[ModelEntry]


def model_entry(status: ModelStatus) -> ModelEntry:
    versions = [
        VersionEntry(
            version=v.version,
            state=v.state,
            reason=v.reason,
            info=v.predictor.info if v.predictor else None,
        )
        for v in status.versions
    ]
    serving = status.predictor
    return ModelEntry(
        name=status.name,
        task=status.task,
        state=status.state,
        reason=status.reason,
        info=serving.info if serving else None,
        versions=versions,
        inputs=profile.summary() if (profile := getattr(serving, "profile", None)) else None,
    )


@router.get("/models")
async def models(registry: RegistryDep) -> ModelList:
    """Every model served: its task, state, serving version's metrics and limits, all versions."""
    return ModelList(models=[model_entry(s) for s in registry.statuses()])


@router.get("/models/{name}", responses={k: ERROR_RESPONSES[k] for k in (404, 422)})
async def model(name: str, registry: RegistryDep) -> ModelEntry:
    """One model, as in /models; 404 if it is not served."""
    return model_entry(registry.status(name))
