"""OpenAI-compatible text completions for every generation model (`model` is its name):
`GET /v1/models`, `POST /v1/completions` (also streamed as `data:` events ending in [DONE]).
A token is one character. Request fields and their limits: app/openai_api/schemas.py."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Literal, cast

from fastapi import APIRouter, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.deps import RegistryDep, SettingsDep
from app.exceptions import ErrorDetail, InvalidRequest
from app.generation import Stream, pieces
from app.openai_api.schemas import ERROR_RESPONSES as OPENAI_ERRORS
from app.openai_api.schemas import (
    Choice,
    Completion,
    CompletionRequest,
    Logprobs,
    ModelCard,
    ModelCards,
    Usage,
)
from app.openai_api.scoring import score
from app.preprocessing import encode_chars
from app.routes import json_response
from app.sampling import TokenLogprob
from app.schemas.generate import GenerateRequest
from app.tasks.generate import GeneratePredictor, Generation, check_limits

router = APIRouter(prefix="/v1", tags=["openai"], responses=OPENAI_ERRORS)
_IDS = itertools.count(1)


@router.get("/models")
async def list_models(registry: RegistryDep) -> ModelCards:
    """Generation models that can serve completions now."""
    now = int(time.time())
    cards = [
        ModelCard(id=s.name, created=now)
        for s in registry.statuses()
        if s.task == "generate" and s.predictor
    ]
    return ModelCards(data=cards)


@router.post("/completions", response_model=Completion)
async def completions(
    body: CompletionRequest, registry: RegistryDep, settings: SettingsDep
) -> Response:
    model = cast(GeneratePredictor, registry.get(body.model, "generate"))
    _check_prompts(body, settings)  # also when nothing is generated (scoring)
    requests = _generate_requests(body, model, settings)
    cid, created = f"cmpl-{time.time_ns():x}{next(_IDS):x}", int(time.time())
    prompt_tokens = sum(_known(model, prompt) for prompt, _ in _choices(body))
    if body.stream:
        head = {"id": cid, "object": "text_completion", "created": created, "model": body.model}
        streams = _start_all(model, requests)
        events = _events(head, body, requests, streams, prompt_tokens, model.vocabulary)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)
    results = await asyncio.gather(*(model.generate(r) for r in requests))  # none: max_tokens 0
    choices = [
        await _choice(model, body, index, prompt, results[index] if results else None)
        for index, (prompt, _) in enumerate(_choices(body))
    ]
    completion_tokens = sum(r.tokens for r in results)
    usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                  total_tokens=prompt_tokens + completion_tokens)  # fmt: skip
    completion = Completion(id=cid, created=created, model=body.model, choices=choices, usage=usage)
    return json_response(completion)


async def _choice(
    model: GeneratePredictor,
    body: CompletionRequest,
    index: int,
    prompt: str,
    result: Generation | None,
) -> Choice:
    """One choice; with max_tokens 0 there is no generation (echo and logprobs score a text)."""
    text = result.text if result else ""
    finish: Literal["length", "stop"] = result.finish_reason if result else "length"
    logprobs = None
    if body.logprobs is not None:
        start = prompt if _known(model, prompt) else model.spec.start_text  # as generation did
        context, scored = ("", prompt + text) if body.echo else (start, text)
        logprobs = await run_in_threadpool(score, model, context, scored, body.logprobs)
    shown = prompt + text if body.echo else text
    return Choice(text=shown, index=index, logprobs=logprobs, finish_reason=finish)


def _check_prompts(body: CompletionRequest, settings: Any) -> None:
    problems = [
        ErrorDetail(
            field=f"body.prompt[{i}]", message=f"at most {settings.max_prompt_chars} characters"
        )
        for i, prompt in enumerate(body.prompts)
        if len(prompt) > settings.max_prompt_chars
    ]
    if problems:
        raise InvalidRequest(problems)


def _known(model: GeneratePredictor, text: str) -> int:
    """Tokens of a prompt: the characters the model knows (the others are skipped)."""
    return len(encode_chars(text, model.index))


def _start_all(model: GeneratePredictor, requests: list[GenerateRequest]) -> list[Stream]:
    """Every choice's stream, or none: one refused (503) cancels those already started."""
    streams: list[Stream] = []
    try:
        for request in requests:
            streams.append(model.start(request))
    except Exception:
        for stream in streams:
            stream.cancelled = True
        raise
    return streams


def _choices(body: CompletionRequest) -> list[tuple[str, int]]:
    """(prompt, seed offset) per choice: n choices per prompt, prompts in order."""
    return [(prompt, i) for prompt in body.prompts for i in range(body.n)]


def _generate_requests(
    body: CompletionRequest, model: GeneratePredictor, settings: Any
) -> list[GenerateRequest]:
    if not body.max_tokens:
        return []
    requests = []
    for prompt, offset in _choices(body):
        seed = None if body.seed is None else (body.seed + offset) % 2**64
        request = GenerateRequest.model_validate({
            "prompt": prompt, "max_tokens": body.max_tokens, "temperature": body.temperature,
            "top_p": body.top_p, "seed": seed, "stop": body.stops,
            "presence_penalty": body.presence_penalty, "frequency_penalty": body.frequency_penalty,
            # A stream's log-probabilities are recorded while sampling (the same raw ones that
            # scoring gives an answer that is not streamed).
            "logprobs": body.logprobs if body.stream else None,
        })  # fmt: skip
        check_limits(request, model, settings)
        requests.append(request)
    return requests


async def _events(
    head: dict[str, Any],
    body: CompletionRequest,
    requests: list[GenerateRequest],
    streams: list[Stream],
    prompt_tokens: int,
    vocabulary: str,
) -> AsyncIterator[str]:
    queue: asyncio.Queue[tuple[int, str, dict[str, Any] | None, str | None]] = asyncio.Queue()

    async def follow(index: int, request: GenerateRequest, stream: Stream) -> None:
        emitted = 0
        try:
            if body.echo:
                await queue.put((index, request.prompt, None, None))
            async for piece in pieces(stream):
                logprobs = None
                if body.logprobs is not None:  # those of this piece's characters (no echo here)
                    entries = stream.logprobs[emitted : emitted + len(piece)]
                    logprobs = _chunk_logprobs(entries, vocabulary, emitted)
                emitted += len(piece)
                await queue.put((index, piece, logprobs, None))
        finally:  # a choice that failed ends too, so the event stream always ends
            queue.put_nowait((index, "", None, stream.finish_reason or "length"))

    tasks = [
        asyncio.create_task(follow(i, r, s))
        for i, (r, s) in enumerate(zip(requests, streams, strict=True))
    ]
    try:
        for _ in range(len(tasks)):
            finished = None
            while finished is None:
                index, text, logprobs, finished = await queue.get()
                choice = {"text": text, "index": index, "logprobs": logprobs,
                          "finish_reason": finished}  # fmt: skip
                yield _event({**head, "choices": [choice]})
        if body.stream_options and body.stream_options.include_usage:
            completion = sum(s.tokens for s in streams)
            usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=completion,
                          total_tokens=prompt_tokens + completion).model_dump()  # fmt: skip
            yield _event({**head, "choices": [], "usage": usage})
        yield "data: [DONE]\n\n"
    finally:
        for task in tasks:
            task.cancel()


def _chunk_logprobs(entries: list[TokenLogprob], vocabulary: str, offset: int) -> dict[str, Any]:
    """OpenAI's `logprobs` object for the characters of one streamed chunk."""
    return Logprobs(
        tokens=[vocabulary[e.token] for e in entries],
        token_logprobs=[e.logprob for e in entries],
        top_logprobs=[{vocabulary[i]: lp for i, lp in e.top} for e in entries],
        text_offset=list(range(offset, offset + len(entries))),
    ).model_dump()


def _event(data: dict[str, Any]) -> str:
    return f"data: {json.dumps(data)}\n\n"
