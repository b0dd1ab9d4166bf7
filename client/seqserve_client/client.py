"""`Client` and `AsyncClient`: the same calls, sync and async. What each call sends and how its
answer is read is written once (`_calls.py`); only sending differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypeVar

import httpx

from seqserve_client._calls import (
    Call,
    Events,
    Settings,
    error_from,
    forecast_call,
    generate_call,
    sentiment_call,
)
from seqserve_client.types import Forecast, Generation, SentimentPrediction

T = TypeVar("T")


class Client:
    """Sync client. `retries`: how often a 503 is retried, after its Retry-After (at most
    `max_wait` seconds each)."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        max_wait: float = 10.0,
    ) -> None:
        self._settings = Settings(base_url, api_key, timeout, retries, max_wait)
        self._http = httpx.Client(
            base_url=base_url, headers=self._settings.headers, timeout=timeout
        )

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        for attempt in range(self._settings.retries + 1):
            response = self._http.request(method, path, json=body)
            pause = self._settings.wait(response, attempt)
            if pause is None:
                break
            time.sleep(pause)
        if response.status_code >= 400:
            raise error_from(response)
        return dict(response.json())

    def _call(self, call: Call[T]) -> T:
        return call.read(self._send("POST", call.path, call.body))

    def forecast(
        self,
        series: Sequence[float | None],
        horizon: int = 1,
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> Forecast:
        return self._call(forecast_call(series, horizon, model, version, options))

    def sentiment(
        self, texts: Sequence[str], *, model: str | None = None, version: int | None = None
    ) -> list[SentimentPrediction]:
        return self._call(sentiment_call(texts, model, version))

    def generate(
        self,
        prompt: str = "",
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> Generation:
        return self._call(generate_call(prompt, model, version, options))

    def generate_stream(
        self,
        prompt: str = "",
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> Iterator[str]:
        """The generated text piece by piece, as the server streams it."""
        call = generate_call(prompt, model, version, {**options, "stream": True})
        for attempt in range(self._settings.retries + 1):
            with self._http.stream("POST", call.path, json=call.body) as response:
                pause = self._settings.wait(response, attempt)
                if pause is None:
                    if response.status_code >= 400:
                        response.read()
                        raise error_from(response)
                    events = Events()
                    for line in response.iter_lines():
                        if piece := events.feed(line):
                            yield piece
                        if events.done:
                            return
                    return
            time.sleep(pause)

    def models(self) -> list[dict[str, Any]]:
        return list(self._send("GET", "/models")["models"])

    def ready(self) -> bool:
        return self._http.get("/ready").status_code == 200


class AsyncClient:
    """The same calls as `Client`, awaited."""

    def __init__(
        self,
        base_url: str = "http://localhost:8000",
        *,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        max_wait: float = 10.0,
    ) -> None:
        self._settings = Settings(base_url, api_key, timeout, retries, max_wait)
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=self._settings.headers, timeout=timeout
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        for attempt in range(self._settings.retries + 1):
            response = await self._http.request(method, path, json=body)
            pause = self._settings.wait(response, attempt)
            if pause is None:
                break
            await asyncio.sleep(pause)
        if response.status_code >= 400:
            raise error_from(response)
        return dict(response.json())

    async def _call(self, call: Call[T]) -> T:
        return call.read(await self._send("POST", call.path, call.body))

    async def forecast(
        self,
        series: Sequence[float | None],
        horizon: int = 1,
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> Forecast:
        return await self._call(forecast_call(series, horizon, model, version, options))

    async def sentiment(
        self, texts: Sequence[str], *, model: str | None = None, version: int | None = None
    ) -> list[SentimentPrediction]:
        return await self._call(sentiment_call(texts, model, version))

    async def generate(
        self,
        prompt: str = "",
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> Generation:
        return await self._call(generate_call(prompt, model, version, options))

    async def generate_stream(
        self,
        prompt: str = "",
        *,
        model: str | None = None,
        version: int | None = None,
        **options: Any,
    ) -> AsyncIterator[str]:
        call = generate_call(prompt, model, version, {**options, "stream": True})
        for attempt in range(self._settings.retries + 1):
            async with self._http.stream("POST", call.path, json=call.body) as response:
                pause = self._settings.wait(response, attempt)
                if pause is None:
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_from(response)
                    events = Events()
                    async for line in response.aiter_lines():
                        if piece := events.feed(line):
                            yield piece
                        if events.done:
                            return
                    return
            await asyncio.sleep(pause)
