from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.deps import RegistryDep
from app.registry import State
from app.tasks.base import ModelInfo

router = APIRouter(tags=["operations"])


class ModelEntry(BaseModel):
    name: str
    state: State
    reason: str | None = None
    info: ModelInfo | None = None  # present once the model is loaded


class ModelList(BaseModel):
    models: list[ModelEntry]


@router.get("/models")
async def models(registry: RegistryDep) -> ModelList:
    """Each enabled model's state, version, metrics, limits and expected input."""
    entries = [
        ModelEntry(
            name=s.task,
            state=s.state,
            reason=s.reason,
            info=s.predictor.info if s.predictor else None,
        )
        for s in registry.statuses()
    ]
    return ModelList(models=entries)
