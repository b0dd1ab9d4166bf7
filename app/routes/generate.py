from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse

from app.deps import SettingsDep, model_dependency
from app.errors import ERROR_RESPONSES
from app.generation import Stream, pieces
from app.routes import json_response
from app.routes.json_body import JsonBodyRoute
from app.schemas.generate import GenerateRequest, GenerateResponse, char_logprobs
from app.tasks.base import ModelRef
from app.tasks.generate import Generator, check_limits

router = APIRouter(tags=["generate"], responses=ERROR_RESPONSES, route_class=JsonBodyRoute)
GeneratorDep = Annotated[Generator, Depends(model_dependency("generate"))]

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
        vocabulary = model.vocabulary if body.logprobs is not None else None
        events = server_sent_events(model.start(body), model.info.ref, vocabulary)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    result = await model.generate(body)
    return json_response(
        GenerateResponse(
            text=result.text,
            finish_reason=result.finish_reason,
            tokens=result.tokens,
            model=model.info.ref,
            logprobs=None
            if body.logprobs is None
            else char_logprobs(result.logprobs, model.vocabulary),
        )
    )


async def server_sent_events(
    stream: Stream, model: ModelRef, vocabulary: str | None = None
) -> AsyncIterator[str]:
    """`token` events, with the log-probabilities of their characters when `vocabulary` is
    given; then `done`. Every character emitted already has its entry: the engine appends it
    before it hands over the text."""
    # If the client disconnects, Starlette stops this iterator and pieces() cancels the stream.
    emitted = 0
    async for piece in pieces(stream):
        event: dict[str, object] = {"text": piece}
        if vocabulary is not None:
            entries = stream.logprobs[emitted : emitted + len(piece)]
            event["logprobs"] = [e.model_dump() for e in char_logprobs(entries, vocabulary)]
        emitted += len(piece)
        yield f"event: token\ndata: {json.dumps(event)}\n\n"
    done = {"finish_reason": stream.finish_reason, "tokens": stream.tokens, "model": model}
    yield f"event: done\ndata: {json.dumps(done, default=ModelRef.model_dump)}\n\n"
