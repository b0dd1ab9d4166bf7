"""The bad-input catalogue: each hostile or broken request gets its documented 4xx in the one
error shape, and the process keeps serving afterwards."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers import assert_error

JSON = {"content-type": "application/json"}
WINDOW = [1.0, 2.0, 3.0, 4.0]  # the fake forecaster's window is 4


def nested(depth: int) -> bytes:
    return b'{"series": ' + b"[" * depth + b"]" * depth + b"}"


# (name, path, raw body, content type, status, error type, field or None)
CATALOGUE: list[tuple[str, str, bytes, str, int, str, str | None]] = [
    (
        "malformed JSON",
        "/forecast",
        b'{"series": [1, 2',
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "wrong content type",
        "/forecast",
        json.dumps({"series": WINDOW}).encode(),
        "text/plain",
        415,
        "unsupported_media_type",
        None,
    ),
    (
        "wrong type",
        "/forecast",
        b'{"series": {"a": 1}}',
        "application/json",
        422,
        "validation_error",
        "body.series",
    ),
    (
        "NaN literal",
        "/forecast",
        b'{"series": [1, 2, 3, NaN]}',
        "application/json",
        422,
        "validation_error",
        "body.series[3]",
    ),
    (
        "Infinity literal",
        "/forecast",
        b'{"series": [Infinity, 2, 3, 4]}',
        "application/json",
        422,
        "validation_error",
        "body.series[0]",
    ),
    (
        "1e999 overflows to inf",
        "/forecast",
        b'{"series": [1, 2, 3, 1e999]}',
        "application/json",
        422,
        "validation_error",
        "body.series[3]",
    ),
    (
        "1e308 is finite but absurd",
        "/forecast",
        b'{"series": [1, 2, 3, 1e308]}',
        "application/json",
        422,
        "validation_error",
        "body.series[3]",
    ),
    (
        "1e308 temperature",
        "/generate",
        b'{"temperature": 1e308}',
        "application/json",
        422,
        "validation_error",
        "body.temperature",
    ),
    (
        "empty text",
        "/sentiment",
        b'{"text": ""}',
        "application/json",
        422,
        "validation_error",
        "body.text",
    ),
    (
        "whitespace text",
        "/sentiment",
        b'{"texts": [" \\t\\n "]}',
        "application/json",
        422,
        "validation_error",
        "body.texts[0]",
    ),
    (
        "invalid UTF-8",
        "/sentiment",
        b'{"text": "caf\xe9 \xff\xfe"}',
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "NUL character",
        "/sentiment",
        b'{"text": "good\\u0000film"}',
        "application/json",
        422,
        "validation_error",
        "body.text",
    ),
    (
        "escape sequence in a prompt",
        "/generate",
        b'{"prompt": "\\u001b[31mred"}',
        "application/json",
        422,
        "validation_error",
        "body.prompt",
    ),
    (
        "control character in a stop",
        "/generate",
        b'{"stop": ["\\u0007"]}',
        "application/json",
        422,
        "validation_error",
        "body.stop[0]",
    ),
    (
        "10 MB body",
        "/sentiment",
        b'{"text": "' + b"a" * 10_000_000 + b'"}',
        "application/json",
        413,
        "payload_too_large",
        None,
    ),
    (
        "100,000-value series",
        "/forecast",
        json.dumps({"series": [1.5] * 100_000}).encode(),
        "application/json",
        422,
        "validation_error",
        "body.series",
    ),
    (
        "deeply nested JSON",
        "/forecast",
        nested(100_000),
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "unknown field",
        "/forecast",
        b'{"series": [1, 2, 3, 4], "horizn": 2}',
        "application/json",
        422,
        "validation_error",
        "body.horizn",
    ),
    (
        "horizon 0",
        "/forecast",
        b'{"series": [1, 2, 3, 4], "horizon": 0}',
        "application/json",
        422,
        "validation_error",
        "body.horizon",
    ),
    (
        "negative horizon",
        "/forecast",
        b'{"series": [1, 2, 3, 4], "horizon": -3}',
        "application/json",
        422,
        "validation_error",
        "body.horizon",
    ),
    (
        "max_tokens 0",
        "/generate",
        b'{"max_tokens": 0}',
        "application/json",
        422,
        "validation_error",
        "body.max_tokens",
    ),
    (
        "max_tokens 10^9",
        "/generate",
        b'{"max_tokens": 1000000000}',
        "application/json",
        422,
        "validation_error",
        "body.max_tokens",
    ),
    (
        "negative temperature",
        "/generate",
        b'{"temperature": -1}',
        "application/json",
        422,
        "validation_error",
        "body.temperature",
    ),
    (
        "top_p 0",
        "/generate",
        b'{"top_p": 0}',
        "application/json",
        422,
        "validation_error",
        "body.top_p",
    ),
    (
        "top_p above 1",
        "/generate",
        b'{"top_p": 1.01}',
        "application/json",
        422,
        "validation_error",
        "body.top_p",
    ),
    (
        "huge stop list",
        "/generate",
        json.dumps({"stop": ["x"] * 10_000}).encode(),
        "application/json",
        422,
        "validation_error",
        "body.stop",
    ),
    (
        "UTF-16 body",
        "/sentiment",
        json.dumps({"text": "good"}).encode("utf-16"),
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "UTF-32 body without a byte-order mark",
        "/sentiment",
        json.dumps({"text": "good"}).encode("utf-32-le"),
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "raw UTF-8 encoding of a surrogate",
        "/sentiment",
        b'{"text": "good \xed\xa0\x80"}',
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "escaped lone surrogate in a text",
        "/sentiment",
        b'{"text": "good \\ud800"}',
        "application/json",
        422,
        "validation_error",
        "body.text",
    ),
    (
        "escaped lone surrogate in a prompt",
        "/generate",
        b'{"prompt": "\\udfff"}',
        "application/json",
        422,
        "validation_error",
        "body.prompt",
    ),
    (
        "integer of 5,000 digits",
        "/forecast",
        b'{"series": [' + b"9" * 5000 + b"]}",
        "application/json",
        400,
        "invalid_json",
        "body",
    ),
    (
        "text of zero-width characters only",
        "/sentiment",
        json.dumps({"text": "\u200b\ufeff \u2060"}).encode(),
        "application/json",
        422,
        "validation_error",
        "body.text",
    ),
    (
        "trailing slash is not redirected",
        "/forecast/",
        json.dumps({"series": WINDOW}).encode(),
        "application/json",
        404,
        "not_found",
        None,
    ),
    (
        # Not bad: 3% of IMDB reviews hold Windows-1252 punctuation decoded as C1 characters.
        "C1 punctuation is accepted",
        "/sentiment",
        json.dumps({"text": "good \x96 fun \x85"}).encode(),
        "application/json",
        200,
        "",
        None,
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "kind", "field"),
    [case[1:] for case in CATALOGUE],
    ids=[case[0] for case in CATALOGUE],
)
def test_bad_input_gets_its_4xx_and_the_service_keeps_serving(
    make_client: Callable[..., TestClient],
    path: str,
    body: bytes,
    content_type: str,
    status: int,
    kind: str,
    field: str | None,
) -> None:
    client = make_client()
    response = client.post(path, content=body, headers={"content-type": content_type})
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status, kind, field)
    assert "Traceback" not in response.text and "/work" not in response.text
    assert client.get("/health").status_code == 200
    ok = client.post("/forecast", json={"series": WINDOW, "horizon": 2})
    assert ok.status_code == 200, ok.text


def test_a_number_too_long_to_parse_is_named(client: TestClient) -> None:
    response = client.post("/forecast", content=b'{"series": [' + b"1" * 4301 + b"]}", headers=JSON)
    error = assert_error(response, 400, "invalid_json", "body")
    assert "too many digits" in error["details"][0]["message"]


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_probes_answer_head(client: TestClient, path: str) -> None:
    response = client.head(path)
    assert response.status_code == 200 and response.content == b""


def test_the_catalogue_is_documented() -> None:
    """Every kind of refusal above appears in the README's error table."""
    from app.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    kinds: set[Any] = {case[5] for case in CATALOGUE if case[5]}
    assert all(f"`{kind}`" in readme for kind in kinds), kinds
