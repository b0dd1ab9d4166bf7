"""The Python client (client/, `pip install ./client`) against a real `python -m app` process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from seqserve_client import AsyncClient, Client, SeqserveError
from seqserve_client._calls import Settings

from tests.processes import Server

pytestmark = pytest.mark.slow
KEY = "client-key"


@pytest.fixture(scope="module")
def server(tiny_models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("client") / "server.log"
    running = Server(tiny_models, log, module="app", api_key=KEY)
    assert running.wait_until_loaded()[-1].status_code == 200, log.read_text()
    yield running
    running.stop()


def test_every_task_by_default_name_and_version(server: Server) -> None:
    with Client(server.url, api_key=KEY) as client:
        assert client.ready()
        window = next(m for m in client.models() if m["name"] == "forecast")["info"]["input"]
        series = [float(i % 24) for i in range(window["window"])]
        result = client.forecast(series, horizon=3)
        assert len(result.forecast) == 3 and result.model.name == "forecast"
        versioned = client.forecast(series, horizon=2, model="forecast", version=1)
        assert versioned.model.version == "1"
        (prediction,) = client.sentiment(["loved it"])
        assert prediction.label in ("negative", "positive") and 0 <= prediction.score <= 1
        generation = client.generate("ROMEO:", max_tokens=10, seed=2)
        pieces = list(client.generate_stream("ROMEO:", max_tokens=10, seed=2))
        assert "".join(pieces) == generation.text and generation.tokens == 10
        assert generation.logprobs is None  # only when asked
        scored = client.generate("ROMEO:", max_tokens=10, seed=2, logprobs=2)
        assert scored.logprobs is not None and scored.text == generation.text
        assert [e["token"] for e in scored.logprobs] == list(scored.text)


def test_async_client_and_streaming(server: Server) -> None:
    async def run() -> tuple[str, str]:
        async with AsyncClient(server.url, api_key=KEY) as client:
            whole = (await client.generate("JULIET:", max_tokens=12, seed=4)).text
            streamed = [p async for p in client.generate_stream("JULIET:", max_tokens=12, seed=4)]
            return whole, "".join(streamed)

    whole, streamed = asyncio.run(run())
    assert whole == streamed and len(whole) == 12


def test_errors_carry_the_error_body(server: Server) -> None:
    with Client(server.url, api_key=KEY) as client:
        with pytest.raises(SeqserveError) as refused:
            client.forecast([1.0], horizon=1)
        assert refused.value.status == 422 and refused.value.type == "validation_error"
        assert refused.value.details and refused.value.details[0]["field"].startswith("body")
        with pytest.raises(SeqserveError) as missing:
            client.generate("x", model="nope")
        assert missing.value.status == 404
    with Client(server.url, api_key="wrong") as stranger, pytest.raises(SeqserveError) as denied:
        stranger.generate("x", max_tokens=1)
    assert denied.value.status == 401


@pytest.mark.parametrize(
    ("retry_after", "attempt", "wait"),
    [("2", 0, 2.0), ("60", 0, 5.0), ("soon", 1, 1.0), ("1", 3, None)],
)
def test_a_503_is_retried_after_its_retry_after_within_a_cap(
    retry_after: str, attempt: int, wait: float | None
) -> None:
    settings = Settings("http://x", None, 1.0, retries=3, max_wait=5.0)
    response = httpx.Response(503, headers={"Retry-After": retry_after})
    assert settings.wait(response, attempt) == wait
    assert settings.wait(httpx.Response(500), 0) is None
