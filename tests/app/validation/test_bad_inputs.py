"""The bad-input catalogue (tests/bad_inputs.py): each hostile or broken request gets its
documented 4xx in the one error shape, and the process keeps serving afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import PROJECT_ROOT
from tests.bad_inputs import CATALOGUE, WINDOW
from tests.helpers import assert_error

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "kind", "field", "method"),
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
    method: str,
) -> None:
    client = make_client()
    response = client.request(method, path, content=body, headers={"content-type": content_type})
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status, kind, field)
    # Nothing of the server's insides: no trace, no path of this checkout (wherever it lives).
    assert "Traceback" not in response.text and str(PROJECT_ROOT) not in response.text
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
    """Every kind of refusal in the catalogue appears in the README's error table."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    kinds: set[Any] = {case.kind for case in CATALOGUE if case.kind}
    assert all(f"`{kind}`" in readme for kind in kinds), kinds
