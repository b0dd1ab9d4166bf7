"""The Open Inference Protocol (KServe V2 / Triton) over REST, for every model:

    GET  /v2                                         server metadata
    GET  /v2/health/live, /v2/health/ready           liveness, readiness
    GET  /v2/models/{name}[/versions/{version}]      model metadata: tensors in and out
    GET  /v2/models/{name}[/versions/{version}]/ready
    POST /v2/models/{name}[/versions/{version}]/infer  JSON, or binary tensor data

Errors have the protocol's `error` field (in the service's one error shape, which adds `type`
and `details`). Tensors and task options: app/v2/tasks.py.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.deps import RegistryDep, SettingsDep
from app.errors import ERROR_RESPONSES
from app.exceptions import ProtocolError
from app.registry import ModelStatus, Registry
from app.v2.codec import HEADER_LENGTH, decode_request, encode_response
from app.v2.tasks import TENSORS, infer

router = APIRouter(prefix="/v2", tags=["open inference protocol"], responses=ERROR_RESPONSES)


def _number(version: str | None) -> int | None:
    # Digits only: "1.0", "+1" or "1_0" must not pass for version 1.
    if version is None:
        return None
    if not (version.isascii() and version.isdigit() and len(version) <= 18):
        raise ProtocolError(f"version {version!r} is not a version number")
    return int(version)


@router.get("")
async def server_metadata(request: Request) -> dict[str, Any]:
    return {
        "name": "seqserve",
        "version": request.app.version,
        "extensions": ["binary_tensor_data"],
    }


@router.get("/health/live")
async def live() -> dict[str, bool]:
    return {"live": True}


@router.get("/health/ready")
async def ready(registry: RegistryDep, response: Response) -> dict[str, bool]:
    response.status_code = 200 if registry.ready else 503
    return {"ready": registry.ready}


def _status(registry: Registry, name: str, version: str | None) -> tuple[ModelStatus, str]:
    status = registry.status(name)
    predictor = registry.get(name, version=_number(version))  # 404 / 503 as for every model route
    return status, predictor.info.version


@router.get("/models/{name}")
@router.get("/models/{name}/versions/{version}")
async def model_metadata(
    registry: RegistryDep, name: str, version: str | None = None
) -> dict[str, Any]:
    status, _ = _status(registry, name, version)
    versions = [str(v.version) for v in status.versions if v.predictor is not None]
    return {
        "name": name,
        "versions": versions,
        "platform": f"seqserve_{status.task}",
        **TENSORS[status.task],
    }


@router.get("/models/{name}/ready")
@router.get("/models/{name}/versions/{version}/ready")
async def model_ready(
    registry: RegistryDep, name: str, version: str | None = None
) -> dict[str, Any]:
    _status(registry, name, version)  # 404 if unknown, 503 unless that version serves
    return {"name": name, "ready": True}


@router.post("/models/{name}/infer")
@router.post("/models/{name}/versions/{version}/infer")
async def model_infer(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    name: str,
    version: str | None = None,
) -> Response:
    status = registry.status(name)
    model = registry.get(name, version=_number(version))
    header, inputs = decode_request(await request.body(), request.headers.get(HEADER_LENGTH))
    parameters = header.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError("'parameters' is an object")
    outputs = await infer(status.task, model, settings, inputs, parameters)
    outputs, binary = _requested(header, outputs, bool(parameters.get("binary_data_output")))
    reply = {"model_name": name, "model_version": model.info.version}
    if "id" in header:
        reply["id"] = str(header["id"])
    body, json_length = encode_response(reply, outputs, binary)
    if json_length is None:
        return Response(body, media_type="application/json")
    headers = {"Inference-Header-Content-Length": str(json_length)}
    return Response(body, media_type="application/octet-stream", headers=headers)


def _requested(
    header: dict[str, Any], outputs: list[Any], all_binary: bool
) -> tuple[list[Any], set[str]]:
    """The outputs asked for (all when none is named) and which of them go as binary data."""
    asked = header.get("outputs")
    if asked is None:
        return outputs, {t.name for t in outputs} if all_binary else set()
    if not isinstance(asked, list) or not all(
        isinstance(a, dict) and isinstance(a.get("name"), str)
        and isinstance(a.get("parameters") or {}, dict)
        for a in asked
    ):  # fmt: skip
        raise ProtocolError("'outputs' is a list of objects with a name (and parameters)")
    by_name = {t.name: t for t in outputs}
    unknown = [a["name"] for a in asked if a["name"] not in by_name]
    if unknown:
        raise ProtocolError(f"unknown outputs {unknown}; this model gives {list(by_name)}")
    binary = {
        a["name"] for a in asked if (a.get("parameters") or {}).get("binary_data", all_binary)
    }
    return [by_name[a["name"]] for a in asked], binary
