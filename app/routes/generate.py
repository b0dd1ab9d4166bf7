from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse

from app.deps import GeneratorDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.generation import Stream, pieces
from app.tasks.base import ModelRef, json_response
from app.tasks.generate import GenerateRequest, GenerateResponse, check_limits

router = APIRouter(tags=["generate"], responses=ERROR_RESPONSES)

_SSE_DOC = {
    "description": 'with `stream: true`: `event: token` with `{"text": ...}` per character '
    "(or small chunk), then `event: done` with finish_reason, tokens and model",
    "content": {"text/event-stream": {}},
}


@router.post("/generate", response_model=GenerateResponse, responses={200: _SSE_DOC})
async def generate(body: GenerateRequest, model: GeneratorDep, settings: SettingsDep) -> Response:
    """Continue a prompt character by character. Unknown prompt characters are skipped."""
    check_limits(body, model, settings)
    if body.stream:
        events = server_sent_events(model.start(body), model.info.ref)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    result = await model.generate(body)
    return json_response(
        GenerateResponse(
            text=result.text,
            finish_reason=result.finish_reason,
            tokens=result.tokens,
            model=model.info.ref,
        )
    )


async def server_sent_events(stream: Stream, model: ModelRef) -> AsyncIterator[str]:
    # If the client disconnects, Starlette stops this iterator and pieces() cancels the stream.
    async for piece in pieces(stream):
        yield f"event: token\ndata: {json.dumps({'text': piece})}\n\n"
    done = {"finish_reason": stream.finish_reason, "tokens": stream.tokens, "model": model}
    yield f"event: done\ndata: {json.dumps(done, default=ModelRef.model_dump)}\n\n"
