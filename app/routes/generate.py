from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from app.deps import GeneratorDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.tasks.generate import GenerateRequest, GenerateResponse, check_limits

router = APIRouter(tags=["generate"], responses=ERROR_RESPONSES)


@router.post("/generate")
async def generate(
    body: GenerateRequest, model: GeneratorDep, settings: SettingsDep
) -> GenerateResponse:
    """Continue a prompt character by character. Unknown prompt characters are skipped."""
    check_limits(body, model, settings)
    # In a worker thread: a long generation must not hold up /health or other requests.
    result = await run_in_threadpool(model.generate, body)
    return GenerateResponse(
        text=result.text,
        finish_reason=result.finish_reason,
        tokens=result.tokens,
        model=model.info.ref,
    )
