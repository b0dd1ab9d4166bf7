"""Each task in the Open Inference Protocol's terms: the tensors it takes and gives, and how one
inference maps onto the task's own request (so every validation and limit of the JSON API
applies unchanged). Task options (horizon, sampling) travel as request parameters."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from app import forecast_answers
from app.artifacts import Task
from app.config import Settings
from app.errors import field_path
from app.exceptions import ErrorDetail, InvalidRequest, ProtocolError
from app.schemas.forecast import BatchForecastRequest
from app.schemas.generate import GenerateRequest
from app.schemas.sentiment import SentimentRequest
from app.tasks import forecast, generate, sentiment
from app.tasks.base import Predictor
from app.v2.codec import NUMERIC, Tensor

# Request parameters the protocol itself defines: never a task option.
RESERVED = {"binary_data_output", "priority", "timeout", "sequence_id", "sequence_start",
            "sequence_end"}  # fmt: skip
Request = TypeVar("Request", bound=BaseModel)


def _spec(name: str, datatype: str, shape: list[int]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape}


TENSORS: dict[Task, dict[str, list[dict[str, Any]]]] = {
    "forecast": {
        "inputs": [_spec("series", "FP32", [-1, -1])],
        "outputs": [_spec("forecast", "FP32", [-1, -1]), _spec("season", "INT32", [-1])],
    },
    "sentiment": {
        "inputs": [_spec("text", "BYTES", [-1])],
        "outputs": [_spec("label", "BYTES", [-1]), _spec("score", "FP32", [-1])],
    },
    "generate": {
        "inputs": [_spec("prompt", "BYTES", [-1])],
        "outputs": [
            _spec("text", "BYTES", [-1]),
            _spec("finish_reason", "BYTES", [-1]),
            _spec("tokens", "INT32", [-1]),
        ],
    },
}


def _input(inputs: list[Tensor], name: str, numeric: bool) -> Tensor:
    found = [t for t in inputs if t.name == name]
    if len(found) != 1 or len(inputs) != 1:
        raise ProtocolError(f"this model takes exactly one input, {name!r}")
    if (found[0].datatype in NUMERIC) != numeric:
        raise ProtocolError(f"input {name!r} must be {'numeric' if numeric else 'BYTES'}")
    return found[0]


def _texts(tensor: Tensor) -> list[str]:
    try:
        return [bytes(v).decode("utf-8") for v in tensor.data]
    except UnicodeDecodeError:
        raise ProtocolError(f"input {tensor.name!r}: elements must be UTF-8 text") from None


def _validated(model: type[Request], fields: dict[str, Any]) -> Request:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        details = [ErrorDetail(field=field_path(e["loc"]), message=e["msg"]) for e in exc.errors()]
        raise InvalidRequest(details) from None


async def _forecast(
    model: Any, settings: Settings, inputs: list[Tensor], options: dict[str, Any]
) -> list[Tensor]:
    tensor = _input(inputs, "series", numeric=True)
    rows = np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)
    rows = rows.reshape(1, -1) if rows.ndim == 1 else rows
    if rows.ndim != 2:
        raise ProtocolError("input 'series' has shape [series, values] or [values]")
    if len(rows) > settings.max_series_batch:  # before tolist(): [10**9, 0] holds no values
        raise ProtocolError(f"at most {settings.max_series_batch} series in one request")
    if {"level", "quantiles", "ids"} & options.keys():
        raise ProtocolError("level, quantiles and ids are served by /forecast/batch, not V2")
    body = _validated(BatchForecastRequest, {"series": rows.tolist(), **options})
    prepared = forecast_answers.prepare(
        body.series, body, batch=True
    )  # V2 tensors hold no nulls: a no-op
    forecast.check_limits(prepared.series, body, model, settings, batch=True)
    result = await model.forecast(prepared.series, body.horizon, body.season_code())
    seasons = np.asarray(result.seasons, dtype=np.int32)
    return [
        Tensor("forecast", "FP32", list(result.values.shape), result.values),
        Tensor("season", "INT32", [len(seasons)], seasons),
    ]


async def _sentiment(
    model: Any, settings: Settings, inputs: list[Tensor], options: dict[str, Any]
) -> list[Tensor]:
    texts = _texts(_input(inputs, "text", numeric=False))
    body = _validated(SentimentRequest, {"texts": texts, **options})
    sentiment.check_limits(body, settings)
    predictions = await model.classify(body.all_texts)
    labels = [p.label.encode() for p in predictions]
    scores = np.array([p.score for p in predictions], dtype=np.float32)
    return [
        Tensor("label", "BYTES", [len(labels)], labels),
        Tensor("score", "FP32", [len(labels)], scores),
    ]


async def _generate(
    model: Any, settings: Settings, inputs: list[Tensor], options: dict[str, Any]
) -> list[Tensor]:
    prompts = _texts(_input(inputs, "prompt", numeric=False))
    if len(prompts) > settings.max_texts:
        raise ProtocolError(f"at most {settings.max_texts} prompts in one request")
    if isinstance(options.get("stop"), str):  # parameters are scalars: one stop sequence
        options = {**options, "stop": [options["stop"]]}
    bodies = [_validated(GenerateRequest, {"prompt": p, **options}) for p in prompts]
    for body in bodies:
        generate.check_limits(body, model, settings)
    try:
        async with asyncio.TaskGroup() as group:  # one refused (503) cancels the others
            tasks = [group.create_task(model.generate(body)) for body in bodies]
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None  # answered as that error (503, 422...)
    results = [task.result() for task in tasks]
    count = [len(results)]
    return [
        Tensor("text", "BYTES", count, [r.text.encode() for r in results]),
        Tensor("finish_reason", "BYTES", count, [r.finish_reason.encode() for r in results]),
        Tensor("tokens", "INT32", count, np.array([r.tokens for r in results], dtype=np.int32)),
    ]


Infer = Callable[[Any, Settings, list[Tensor], dict[str, Any]], Awaitable[list[Tensor]]]
INFER: dict[Task, Infer] = {"forecast": _forecast, "sentiment": _sentiment, "generate": _generate}


async def infer(
    task: Task,
    model: Predictor,
    settings: Settings,
    inputs: list[Tensor],
    parameters: dict[str, Any],
) -> list[Tensor]:
    options = {k: v for k, v in parameters.items() if k not in RESERVED}
    try:
        return await INFER[task](model, settings, inputs, options)
    except InvalidRequest as exc:  # V2 clients show only `error`: it names each field
        raise ProtocolError(f"invalid request: {exc}") from None
