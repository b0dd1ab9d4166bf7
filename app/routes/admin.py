"""Administration, served only when SEQSERVE_API_KEY is set, and always behind it: rescan the
repository now, load or unload a model. Each answers with the models as /models shows them."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.deps import RegistryDep
from app.errors import ERROR_RESPONSES
from app.routes.models import ModelEntry, ModelList, model_entry, models

router = APIRouter(prefix="/admin", tags=["admin"], responses=ERROR_RESPONSES)


@router.post("/rescan")
async def rescan(registry: RegistryDep) -> ModelList:
    """Load new and changed versions and drop removed ones now, without waiting for the poll."""
    await run_in_threadpool(registry.rescan)  # loading and warming up take a while
    return await models(registry)


@router.post("/models/{name}/load")
async def load(name: str, registry: RegistryDep) -> ModelEntry:
    """Serve a model again after an unload (or right away, if it was just published)."""
    await run_in_threadpool(registry.load, name)
    return model_entry(registry.status(name))


@router.post("/models/{name}/unload")
async def unload(name: str, registry: RegistryDep) -> ModelList:
    """Stop serving a model until it is loaded again; running requests finish on it."""
    registry.status(name)  # 404 for a model that is not served
    await run_in_threadpool(registry.unload, name)  # it waits for a scan that may be loading
    return await models(registry)
