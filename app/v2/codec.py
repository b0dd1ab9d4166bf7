"""Tensors of the Open Inference Protocol (KServe V2 / Triton) over REST: JSON and binary.

A request body is JSON, or, with the binary tensor data extension, JSON of
`Inference-Header-Content-Length` bytes followed by the raw data of the inputs whose parameters
carry `binary_data_size`, in order. Binary BYTES elements are each a 4-byte little-endian length
and the bytes. Responses are encoded the same way for the outputs asked for in binary.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.exceptions import ProtocolError

HEADER_LENGTH = "inference-header-content-length"
# No tensor dimension is larger than a request body could fill (1 GiB of single bytes).
MAX_DIMENSION = 1 << 30
# Numeric datatypes this service reads and writes (little-endian, as the extension specifies).
NUMERIC = {"FP32": "<f4", "FP64": "<f8", "INT32": "<i4", "INT64": "<i8"}


@dataclass
class Tensor:
    name: str
    datatype: str
    shape: list[int]
    data: np.ndarray | list[bytes]  # numbers, or the elements of a BYTES tensor
    parameters: dict[str, Any] = field(default_factory=dict)


def decode_request(body: bytes, header_length: str | None) -> tuple[dict[str, Any], list[Tensor]]:
    """The request's JSON (without its inputs) and its input tensors."""
    split = _header_length(header_length, len(body))
    try:
        request = json.loads(body[:split].decode("utf-8"))  # strictly UTF-8, as JSON must be
    except RecursionError:
        raise ProtocolError("the JSON part of the request is nested too deeply") from None
    except ValueError as exc:
        raise ProtocolError(f"the JSON part of the request is not valid JSON: {exc}") from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise ProtocolError("a request is a JSON object with a list of 'inputs'")
    raw, tensors = memoryview(body)[split:], []
    for item in request.pop("inputs"):
        tensor, raw = _input(item, raw)
        tensors.append(tensor)
    if len(raw):
        raise ProtocolError(f"{len(raw)} bytes of binary data belong to no input")
    return request, tensors


def _header_length(value: str | None, size: int) -> int:
    if value is None:
        return size
    if not value.isdecimal() or int(value) > size:
        raise ProtocolError(f"Inference-Header-Content-Length {value!r} is not within the body")
    return int(value)


def _input(item: Any, raw: memoryview) -> tuple[Tensor, memoryview]:
    if not isinstance(item, dict):
        raise ProtocolError("each input is an object with name, datatype, shape and data")
    name, datatype, shape = item.get("name"), item.get("datatype"), item.get("shape")
    if not isinstance(name, str) or datatype not in (*NUMERIC, "BYTES"):
        raise ProtocolError(f"input {name!r}: datatype must be one of {[*NUMERIC, 'BYTES']}")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and 0 <= d <= MAX_DIMENSION for d in shape
    ):
        raise ProtocolError(f"input {name!r}: shape is a list of integers 0..{MAX_DIMENSION}")
    parameters = item.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ProtocolError(f"input {name!r}: parameters is an object")
    count = math.prod(shape)  # exact, not numpy's wrapping int64
    if "binary_data_size" in parameters:
        size = parameters["binary_data_size"]
        if not isinstance(size, int) or not 0 <= size <= len(raw):
            raise ProtocolError(f"input {name!r}: binary_data_size exceeds the data sent")
        data = _from_binary(bytes(raw[:size]), datatype, count, name)
        raw = raw[size:]
    else:
        data = _from_json(item.get("data"), datatype, count, name, len(shape))
    return Tensor(name, datatype, shape, data, parameters), raw


def _from_binary(raw: bytes, datatype: str, count: int, name: str) -> np.ndarray | list[bytes]:
    if datatype != "BYTES":
        dtype = np.dtype(NUMERIC[datatype])
        if len(raw) != count * dtype.itemsize:
            raise ProtocolError(f"input {name!r}: {len(raw)} bytes do not hold {count} {datatype}")
        return np.frombuffer(raw, dtype=dtype)
    elements, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise ProtocolError(f"input {name!r}: a BYTES element is cut short")
        (length,) = struct.unpack_from("<I", raw, offset)
        elements.append(raw[offset + 4 : offset + 4 + length])
        offset += 4 + length
    if offset != len(raw) or len(elements) != count:
        raise ProtocolError(f"input {name!r}: the BYTES data does not hold {count} elements")
    return elements


def _from_json(
    data: Any, datatype: str, count: int, name: str, depth: int
) -> np.ndarray | list[bytes]:
    flat = list(_flatten(data, max(depth, 1), name))
    if len(flat) != count:
        raise ProtocolError(f"input {name!r}: {len(flat)} values do not fill its shape")
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise ProtocolError(f"input {name!r}: BYTES data in JSON are strings")
        return [v.encode() for v in flat]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
        raise ProtocolError(f"input {name!r}: {datatype} data must be numbers")
    return np.asarray(flat, dtype=NUMERIC[datatype])


def _flatten(data: Any, depth: int, name: str) -> Any:
    """The values of `data`, nested at most `depth` lists deep (the shape's rank)."""
    if not isinstance(data, list):
        if data is not None:
            yield data
        return
    if depth == 0:
        raise ProtocolError(f"input {name!r}: data is nested deeper than its shape")
    for item in data:
        yield from _flatten(item, depth - 1, name)


def encode_response(
    header: dict[str, Any], outputs: list[Tensor], binary: set[str]
) -> tuple[bytes, int | None]:
    """The response body and, when any output is binary, the length of its JSON part."""
    described, blobs = [], []
    for tensor in outputs:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": tensor.shape,
        }
        if tensor.name in binary:
            blob = _to_binary(tensor)
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = _to_json(tensor)
        described.append(entry)
    text = json.dumps({**header, "outputs": described}).encode()
    return (text + b"".join(blobs), len(text)) if blobs else (text, None)


def _to_binary(tensor: Tensor) -> bytes:
    if tensor.datatype == "BYTES":
        return b"".join(struct.pack("<I", len(v)) + bytes(v) for v in tensor.data)
    return np.asarray(tensor.data, dtype=NUMERIC[tensor.datatype]).tobytes()


def _to_json(tensor: Tensor) -> list[Any]:
    if tensor.datatype == "BYTES":
        return [bytes(v).decode("utf-8", "replace") for v in tensor.data]
    return np.asarray(tensor.data).ravel().tolist()
