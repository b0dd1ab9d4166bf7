"""The Open Inference Protocol (KServe V2 / Triton): hand-made requests on fakes for the
protocol's edges, then the real `tritonclient` against a real process on tiny artifacts."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.exceptions import ProtocolError
from app.v2.codec import Tensor, decode_request, encode_response
from tests.helpers import assert_error
from tests.processes import Server

SERIES = [[1.0, 2.0, 3.0, 4.0]]


def infer(client: TestClient, model: str, inputs: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post(f"/v2/models/{model}/infer", json={"inputs": inputs, **extra})


def test_metadata_and_readiness(client: TestClient) -> None:
    assert client.get("/v2").json()["extensions"] == ["binary_tensor_data"]
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").json() == {"ready": True}
    meta = client.get("/v2/models/forecast").json()
    assert meta["inputs"] == [{"name": "series", "datatype": "FP32", "shape": [-1, -1]}]
    assert client.get("/v2/models/sentiment/ready").status_code == 200
    assert_error(client.get("/v2/models/nope"), 404, "model_not_found")


def test_json_inference_for_each_task(client: TestClient) -> None:
    series = {"name": "series", "datatype": "FP32", "shape": [1, 4], "data": SERIES[0]}
    answer = infer(client, "forecast", [series], parameters={"horizon": 2}, id="r1").json()
    assert answer["id"] == "r1" and answer["model_name"] == "forecast"
    assert answer["outputs"] == [
        {"name": "forecast", "datatype": "FP32", "shape": [1, 2], "data": [5.0, 6.0]},
        {"name": "season", "datatype": "INT32", "shape": [1], "data": [1]},
    ]
    text = {"name": "text", "datatype": "BYTES", "shape": [2], "data": ["good", "bad"]}
    labels = infer(client, "sentiment", [text]).json()["outputs"][0]
    assert labels["name"] == "label" and len(labels["data"]) == 2
    prompt = {"name": "prompt", "datatype": "BYTES", "shape": [1], "data": ["ab"]}
    outputs = infer(client, "generate", [prompt], parameters={"max_tokens": 3}).json()["outputs"]
    assert [o["name"] for o in outputs] == ["text", "finish_reason", "tokens"]


@pytest.mark.parametrize(
    ("inputs", "parameters", "status"),
    [
        ([{"name": "series", "datatype": "FP32", "shape": [1, 5], "data": [1, 2]}], {}, 400),
        ([{"name": "values", "datatype": "FP32", "shape": [1, 4], "data": SERIES[0]}], {}, 400),
        ([{"name": "series", "datatype": "FP16", "shape": [1, 4], "data": SERIES[0]}], {}, 400),
        ([{"name": "series", "datatype": "FP32", "shape": [1, 4], "data": SERIES[0]}],
         {"horizon": 99}, 400),
        ([{"name": "series", "datatype": "FP32", "shape": [1, 4], "data": SERIES[0]}],
         {"horizn": 2}, 400),
    ],
)  # fmt: skip
def test_protocol_and_task_errors(
    client: TestClient, inputs: list[dict[str, Any]], parameters: dict[str, Any], status: int
) -> None:
    response = infer(client, "forecast", inputs, parameters=parameters)
    assert response.status_code == status, response.text
    error = response.json()["error"]  # the protocol's field says what is wrong
    assert isinstance(error, str) and any(word in error for word in ("input", "horiz")), error


def test_binary_tensors_round_trip() -> None:
    text = [b"caf\xc3\xa9", b""]
    outputs = [
        Tensor("x", "FP32", [2], np.array([1.5, -2.0], dtype=np.float32)),
        Tensor("t", "BYTES", [2], text),
    ]
    body, length = encode_response({"model_name": "m"}, outputs, {"x", "t"})
    assert length is not None
    header = json.loads(body[:length])
    request = {"inputs": [{**o, "name": o["name"]} for o in header["outputs"]]}
    raw = json.dumps(request).encode()
    _, decoded = decode_request(raw + body[length:], str(len(raw)))
    assert decoded[0].data.tolist() == [1.5, -2.0] and decoded[1].data == text
    with pytest.raises(ProtocolError, match="exceeds the data sent"):
        decode_request(raw + body[length:-1], str(len(raw)))  # one byte short
    with pytest.raises(ProtocolError, match="belong to no input"):
        decode_request(raw + body[length:] + b"x", str(len(raw)))
    assert struct.unpack_from("<I", body, length + 8) == (len(text[0]),)


@pytest.fixture(scope="module")
def triton(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    import tritonclient.http as http

    log = tmp_path_factory.mktemp("v2") / "server.log"
    server = Server(tiny_models, log, module="app", api_key="v2-key")
    assert server.wait_until_loaded()[-1].status_code == 200, log.read_text()
    client = http.InferenceServerClient(f"127.0.0.1:{server.port}")
    window = server.client.get("/models/forecast").json()["info"]["input"]["window"]
    yield client, http, window
    client.close()
    server.stop()


def auth() -> dict[str, str]:
    # A new dict per call: tritonclient writes Inference-Header-Content-Length into it.
    return {"X-API-Key": "v2-key"}


@pytest.mark.slow
def test_tritonclient_metadata_and_readiness(triton: Any) -> None:
    client, _, _ = triton
    assert client.is_server_live() and client.is_server_ready()
    assert client.get_server_metadata()["name"] == "seqserve"
    assert client.is_model_ready("forecast") and client.is_model_ready("generate", "1")
    meta = client.get_model_metadata("sentiment")
    assert [i["datatype"] for i in meta["inputs"]] == ["BYTES"] and meta["versions"] == ["1"]


@pytest.mark.slow
@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_inference_per_task(triton: Any, binary: bool) -> None:
    client, http, window = triton
    series = http.InferInput("series", [2, window], "FP32")
    series.set_data_from_numpy(np.tile(np.arange(window, dtype=np.float32) % 24, (2, 1)), binary)
    out = http.InferRequestedOutput("forecast", binary_data=binary)
    result = client.infer(
        "forecast", [series], outputs=[out], parameters={"horizon": 3}, headers=auth()
    )
    assert result.as_numpy("forecast").shape == (2, 3)

    texts = http.InferInput("text", [2], "BYTES")
    texts.set_data_from_numpy(
        np.array([b"loved it", "caf\u00e9 awful".encode()], dtype=object), binary
    )
    result = client.infer("sentiment", [texts], headers=auth())  # all outputs, binary by default
    assert set(result.as_numpy("label").tolist()) <= {b"negative", b"positive"}
    assert result.as_numpy("score").shape == (2,)

    prompt = http.InferInput("prompt", [1], "BYTES")
    prompt.set_data_from_numpy(np.array([b"ROMEO:"], dtype=object), binary)
    options = {"max_tokens": 12, "seed": 3, "temperature": 0.8}
    result = client.infer(
        "generate", [prompt], model_version="1", parameters=options, headers=auth()
    )
    assert len(result.as_numpy("text")[0].decode()) == 12
    assert result.as_numpy("tokens").tolist() == [12]


@pytest.mark.slow
def test_tritonclient_errors_and_the_key(triton: Any) -> None:
    client, http, _ = triton
    from tritonclient.utils import InferenceServerException

    prompt = http.InferInput("prompt", [1], "BYTES")
    prompt.set_data_from_numpy(np.array([b"x"], dtype=object))
    with pytest.raises(InferenceServerException, match="API key"):
        client.infer("generate", [prompt])
    with pytest.raises(InferenceServerException, match="max_tokens"):
        client.infer("generate", [prompt], parameters={"max_tokens": 0}, headers=auth())
    with pytest.raises(InferenceServerException, match="not in the repository"):
        client.infer("nope", [prompt], headers=auth())


@pytest.mark.parametrize(
    "request_body",
    [
        {"inputs": [{"name": "series", "datatype": "FP32", "shape": [10**9, 0], "data": []}]},
        {"inputs": [{"name": "series", "datatype": "FP32", "shape": [2**32, 2**32], "data": []}]},
        {"inputs": [{"name": "series", "datatype": "FP32", "shape": [4],
                     "data": [[[[1, 2, 3, 4]]]]}]},
        {"inputs": [{"name": "series", "datatype": "FP32", "shape": [1], "data": [1],
                     "parameters": []}]},
        {"inputs": [], "parameters": ["binary"]},
        {"inputs": [{"name": "series", "datatype": "FP32", "shape": [4], "data": SERIES[0]}],
         "outputs": [{"name": ["forecast"]}]},
    ],
)  # fmt: skip
def test_malformed_requests_are_400_not_500(
    client: TestClient, request_body: dict[str, Any]
) -> None:
    response = client.post("/v2/models/forecast/infer", json=request_body)
    assert response.status_code == 400, response.text


def test_deep_json_nesting_is_400(client: TestClient) -> None:
    body = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert client.post("/v2/models/forecast/infer", content=body).status_code == 400


def test_the_binary_header_does_not_unlock_other_routes(client: TestClient) -> None:
    body = json.dumps({"text": "good"}).encode("utf-16")
    headers = {"Inference-Header-Content-Length": "4", "content-type": "application/json"}
    assert_error(client.post("/sentiment", content=body, headers=headers), 400, "invalid_json")
