"""OpenAI-compatible completions, proven with the `openai` client on the tiny generation model."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.helpers import loaded_registry, make_settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def http(tiny_models: Path) -> Iterator[TestClient]:
    settings = make_settings(models_dir=tiny_models, api_key="oai-key", reload_interval_seconds=0)
    app = create_app(settings, loaded_registry(tiny_models, reload_interval_seconds=0))
    with TestClient(app, headers={"Authorization": "Bearer oai-key"}) as http:
        yield http


@pytest.fixture(scope="module")
def client(http: TestClient) -> openai.OpenAI:
    # TestClient is an httpx.Client: the openai client runs over it in-process.
    return openai.OpenAI(api_key="oai-key", base_url="http://testserver/v1", http_client=http)


def test_models_and_a_seeded_completion(client: openai.OpenAI) -> None:
    assert "generate" in [m.id for m in client.models.list()]
    args = {"model": "generate", "prompt": "ROMEO:", "max_tokens": 12, "seed": 5}
    first = client.completions.create(**args, temperature=0.8)
    assert len(first.choices[0].text) == 12 and first.choices[0].finish_reason == "length"
    assert first.usage is not None and first.usage.completion_tokens == 12
    assert first.usage.prompt_tokens == 6
    again = client.completions.create(**args, temperature=0.8)
    assert again.choices[0].text == first.choices[0].text


def test_n_choices_stop_and_several_prompts(client: openai.OpenAI) -> None:
    answer = client.completions.create(
        model="generate", prompt=["a", "b"], n=2, max_tokens=30, seed=1, stop=["\n"]
    )
    assert [c.index for c in answer.choices] == [0, 1, 2, 3]
    assert all("\n" not in c.text for c in answer.choices)


def test_streaming_matches_the_whole_answer(client: openai.OpenAI) -> None:
    args = {"model": "generate", "prompt": "JULIET:", "max_tokens": 20, "seed": 9}
    whole = client.completions.create(**args).choices[0].text
    chunks = list(
        client.completions.create(**args, stream=True, stream_options={"include_usage": True})
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20


def test_logprobs_of_each_generated_character(client: openai.OpenAI) -> None:
    choice = client.completions.create(
        model="generate", prompt="ROMEO:", max_tokens=8, temperature=0, logprobs=3
    ).choices[0]
    assert choice.logprobs is not None
    assert choice.logprobs.tokens == list(choice.text)
    for token, logprob, top in zip(
        choice.logprobs.tokens, choice.logprobs.token_logprobs, choice.logprobs.top_logprobs,
        strict=True,
    ):  # fmt: skip
        assert logprob is not None and logprob <= 0 and top is not None and len(top) == 3
        # Greedy decoding picks the most likely character, which the top alternatives show.
        assert max(top, key=lambda k: top[k]) == token
        assert math.isclose(top[token], logprob, rel_tol=1e-6)


def test_echo_with_max_tokens_0_scores_a_text(client: openai.OpenAI) -> None:
    text = "To be, or not to be"
    choice = client.completions.create(
        model="generate", prompt=text, max_tokens=0, echo=True, logprobs=0
    ).choices[0]
    assert choice.text == text and choice.logprobs is not None
    scores = choice.logprobs.token_logprobs
    assert scores[0] is None and all(s is not None and s <= 0 for s in scores[1:])


def test_errors_and_the_key(client: openai.OpenAI, tiny_models: Path) -> None:
    with pytest.raises(openai.NotFoundError):
        client.completions.create(model="nope", prompt="x", max_tokens=2)
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model="generate", prompt="x", logit_bias={"1": 5.0})
    error = refused.value.body
    assert isinstance(error, dict) and "logit_bias" in error["message"], error  # OpenAI's shape
    assert error["type"] == "invalid_request_error"
    stranger = openai.OpenAI(
        api_key="wrong", base_url=str(client.base_url), http_client=client._client
    )
    with pytest.raises(openai.AuthenticationError):
        stranger.completions.create(model="generate", prompt="x", max_tokens=2)


def test_errors_of_every_layer_take_openai_shape(client: openai.OpenAI) -> None:
    http = client._client  # the TestClient
    for body, headers in ((b"\x00", {}), (b"{}", {"Authorization": "Bearer wrong"})):
        response = http.post("/v1/completions", content=body, headers=headers)
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["message"], error


def test_choices_and_scored_prompts_are_bounded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="choices"):
        client.completions.create(model="generate", prompt=["a"] * 5, n=4, max_tokens=1)
    with pytest.raises(openai.BadRequestError, match="prompt"):
        client.completions.create(
            model="generate", prompt="a" * 5000, max_tokens=0, echo=True, logprobs=5
        )


def test_generate_logprobs_agree_with_the_completions_scoring(
    http: TestClient, client: openai.OpenAI
) -> None:
    # /generate records them while sampling, step by step; /v1/completions scores the text
    # afterwards in one pass: two code paths that must describe the same distribution.
    body = {"prompt": "ROMEO:", "max_tokens": 12, "temperature": 0, "logprobs": 3}
    ours = http.post("/generate", json=body).json()
    theirs = client.completions.create(
        model="generate", prompt="ROMEO:", max_tokens=12, temperature=0, logprobs=3
    ).choices[0]
    assert ours["text"] == theirs.text
    assert theirs.logprobs is not None and theirs.logprobs.top_logprobs is not None
    assert [e["token"] for e in ours["logprobs"]] == list(ours["text"])
    for entry, logprob, top in zip(
        ours["logprobs"], theirs.logprobs.token_logprobs, theirs.logprobs.top_logprobs, strict=True
    ):
        assert logprob is not None and math.isclose(entry["logprob"], logprob, abs_tol=1e-4)
        alternatives = {a["token"]: a["logprob"] for a in entry["top_logprobs"]}
        assert top is not None and alternatives.keys() == top.keys()
        # Greedy with no penalty picks the model's likeliest character: the first alternative.
        assert entry["top_logprobs"][0]["token"] == entry["token"]


def test_streamed_logprobs_cover_the_text_and_a_stop_sequence_has_none(http: TestClient) -> None:
    body = {"prompt": "JULIET:", "max_tokens": 40, "seed": 3, "logprobs": 0}
    free = http.post("/generate", json=body).json()["text"]
    body["stop"] = [free[5]]  # a character the same seeded generation is sure to reach
    whole = http.post("/generate", json=body).json()
    assert whole["finish_reason"] == "stop"
    assert len(whole["logprobs"]) == len(whole["text"])
    assert all(e["logprob"] <= 0 and e["top_logprobs"] == [] for e in whole["logprobs"])
    with http.stream("POST", "/generate", json=body | {"stream": True}) as response:
        events = [
            json.loads(line.removeprefix("data: "))
            for line in response.iter_lines()
            if line.startswith("data: ")
        ]
    tokens = [event for event in events if "text" in event]
    assert "".join(e["text"] for e in tokens) == whole["text"]
    assert [x for e in tokens for x in e["logprobs"]] == whole["logprobs"]


def test_a_stream_carries_the_logprobs_of_each_chunk(client: openai.OpenAI) -> None:
    args = {"model": "generate", "prompt": "ROMEO:", "max_tokens": 15, "temperature": 0}
    whole = client.completions.create(**args, logprobs=2).choices[0]
    chunks = [c.choices[0] for c in client.completions.create(**args, logprobs=2, stream=True)]
    pieces = [c for c in chunks if c.text]
    assert "".join(c.text for c in pieces) == whole.text
    assert all(c.logprobs is not None and c.logprobs.tokens == list(c.text) for c in pieces)
    streamed = [lp for c in pieces for lp in c.logprobs.token_logprobs]  # type: ignore[union-attr]
    assert whole.logprobs is not None and whole.logprobs.token_logprobs is not None
    for ours, scored in zip(streamed, whole.logprobs.token_logprobs, strict=True):
        assert scored is not None and math.isclose(ours, scored, abs_tol=1e-4)
    offsets = [o for c in pieces for o in c.logprobs.text_offset]  # type: ignore[union-attr]
    assert offsets == list(range(len(whole.text)))
    with pytest.raises(openai.BadRequestError):  # echo's prompt scoring is not streamed
        client.completions.create(**args, logprobs=2, stream=True, echo=True)
