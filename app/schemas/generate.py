"""/generate: what a request may send and what the answer holds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic_core import PydanticCustomError

from app.sampling import TokenLogprob
from app.tasks.base import ModelRef, PlainText, StrictRequest

MIN_TEMPERATURE = 0.01  # below this, logits / temperature overflows; use 0 for greedy
MAX_REPETITION_PENALTY = 10.0  # beyond this every seen character is simply banned
# Symmetric lower bound: a penalty near 0 would multiply seen logits towards infinity.
MIN_REPETITION_PENALTY = 1 / MAX_REPETITION_PENALTY
MAX_LOGPROBS = 20  # alternatives per character, as OpenAI's and vLLM's top_logprobs


class Alternative(BaseModel):
    token: str
    logprob: float


class CharLogprob(BaseModel):
    token: str = Field(description="the character generated")
    logprob: float = Field(description="its natural-log probability under the model")
    top_logprobs: list[Alternative] = Field(description="the likeliest characters, best first")


class GenerateRequest(StrictRequest):
    prompt: PlainText = Field(
        default="",
        description="text to continue; characters the model never saw are skipped",
        examples=["ROMEO:\n"],
    )
    max_tokens: int = Field(
        default=100, ge=1, description="characters to generate at most", examples=[100]
    )
    temperature: float = Field(
        default=1.0, ge=0, description="0 means greedy (argmax)", examples=[0.8]
    )
    top_k: int = Field(
        default=0, ge=0, description="sample from the k likeliest; 0 = all", examples=[0]
    )
    top_p: float = Field(
        default=1.0, gt=0, le=1, description="nucleus sampling mass", examples=[0.95]
    )
    seed: int | None = Field(
        default=None, ge=0, le=2**64 - 1, description="same seed, same text", examples=[42]
    )
    stop: list[Annotated[PlainText, Field(min_length=1)]] = Field(
        default_factory=list,
        description="end at the first of these; it is not returned",
        examples=[["\n\n"]],
    )
    repetition_penalty: float = Field(
        default=1.0,
        ge=MIN_REPETITION_PENALTY,
        le=MAX_REPETITION_PENALTY,
        description="as in TGI: logits of characters already in the prompt or the output are "
        "divided by it when positive, multiplied when negative; 1 = off, above 1 discourages",
        examples=[1.2],
    )
    frequency_penalty: float = Field(
        default=0.0,
        ge=-2,
        le=2,
        description="as in OpenAI/vLLM: subtracted from a character's logit once per time it "
        "was generated so far; 0 = off",
        examples=[0.5],
    )
    presence_penalty: float = Field(
        default=0.0,
        ge=-2,
        le=2,
        description="as in OpenAI/vLLM: subtracted once from the logit of every character "
        "generated so far; 0 = off",
        examples=[0.0],
    )
    logprobs: int | None = Field(
        default=None,
        ge=0,
        le=MAX_LOGPROBS,
        description="return each generated character's log-probability and this many likeliest "
        "alternatives (0: none). Under the model's own distribution, before temperature, top-k, "
        "top-p and penalties, as /v1/completions reports them",
        examples=[3],
    )
    stream: bool = Field(
        default=False,
        description="answer with server-sent events: `token` events, then one `done` event",
    )

    @field_validator("temperature")
    @classmethod
    def _greedy_or_warm(cls, value: float) -> float:
        if 0 < value < MIN_TEMPERATURE:
            message = "must be 0 (greedy) or at least {minimum}"
            minimum = {"minimum": MIN_TEMPERATURE}
            raise PydanticCustomError("temperature_too_small", message, minimum)
        return value


class GenerateResponse(BaseModel):
    text: str = Field(description="the continuation, without the prompt or a stop sequence")
    finish_reason: Literal["length", "stop"]
    tokens: int = Field(description="characters generated, counting a stop sequence removed")
    model: ModelRef
    logprobs: list[CharLogprob] | None = Field(
        default=None, description="one per character of `text`, when the request asked"
    )


def char_logprobs(logprobs: Sequence[TokenLogprob], vocabulary: str) -> list[CharLogprob]:
    """Token ids spelled as characters, for a response or a stream event."""
    return [
        CharLogprob(
            token=vocabulary[entry.token],
            logprob=entry.logprob,
            top_logprobs=[Alternative(token=vocabulary[i], logprob=lp) for i, lp in entry.top],
        )
        for entry in logprobs
    ]
