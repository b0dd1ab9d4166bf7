"""Bodies of the task routes are parsed by pydantic-core (app/routes/json_body.py): the same
answers as FastAPI's own parsing, which still handles what pydantic-core refuses."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from app.routes.json_body import parse_json
from tests.helpers import assert_error

HEADERS = {"Content-Type": "application/json"}


def test_a_valid_body_is_not_parsed_by_the_standard_library(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("json.loads was called")

    # Starlette's Request.json() is where FastAPI's parsing happens; only its module is patched.
    monkeypatch.setattr("starlette.requests.json", SimpleNamespace(loads=refuse))
    body = json.dumps({"series": [1, 2, 3, 4.5], "horizon": 3})
    response = client.post("/forecast", content=body, headers=HEADERS)
    assert response.status_code == 200 and response.json()["forecast"] == [5.5, 6.5, 7.5]


@pytest.mark.parametrize(
    "body",
    [
        b'\xef\xbb\xbf{"series": [1, 2, 3, 4], "horizon": 1}',  # a byte-order mark
        b'{"series": [1, 2, 3, 4], "freq": "\\ud800"}',  # a lone surrogate escape
    ],
)
def test_what_pydantic_core_refuses_gets_fastapis_answer(client: TestClient, body: bytes) -> None:
    """Parsed again by FastAPI, as before: the BOM is accepted, the surrogate refused by name."""
    response = client.post("/forecast", content=body, headers=HEADERS)
    if body.startswith(b"\xef\xbb\xbf"):
        assert response.status_code == 200
    else:
        assert_error(response, 422, "validation_error", "body.freq")


def test_invalid_json_gets_the_standard_librarys_message_as_before(client: TestClient) -> None:
    response = client.post("/forecast", content=b'{"series": [1, 2,', headers=HEADERS)
    body = assert_error(response, 400, "invalid_json", "body")
    assert body["details"][0]["message"] == "Expecting value at character 17"


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)  # NaN != NaN; infinities as json.dumps writes them
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_pydantic_core_reads_every_body_as_the_standard_library_does(value: object) -> None:
    """The parsed values the schema then validates are the same, so the answers are too."""
    body = json.dumps(value).encode()
    assert parse_json(body) == json.loads(body)
