"""OpenAI text completions, as far as a character-level model can honour them.

Request fields follow https://platform.openai.com/docs/api-reference/completions; a token here
is one character. Fields this service cannot honour (`best_of` above `n`, `logit_bias`,
`suffix`) are refused rather than ignored.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

MAX_LOGPROBS = 5  # OpenAI's own limit for completions
MAX_CHOICES = 16  # prompts x n in one request: each is a generation (or a scoring pass)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    prompt: str | list[str] = ""
    max_tokens: int = Field(default=16, ge=0)
    temperature: float = Field(default=1.0, ge=0, le=2)
    top_p: float = Field(default=1.0, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=16)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=0, lt=2**63)
    stream: bool = False
    stream_options: StreamOptions | None = None
    logprobs: int | None = Field(default=None, ge=0, le=MAX_LOGPROBS)
    echo: bool = False
    presence_penalty: float = Field(default=0.0, ge=-2, le=2)
    frequency_penalty: float = Field(default=0.0, ge=-2, le=2)
    best_of: int | None = None
    logit_bias: dict[str, float] | None = None
    suffix: str | None = None
    user: str | None = None

    @model_validator(mode="after")
    def _supported(self) -> Self:
        if self.best_of not in (None, self.n) or self.logit_bias or self.suffix:
            raise PydanticCustomError(
                "unsupported", "best_of, logit_bias and suffix are not supported"
            )
        if len(self.prompts) * self.n > MAX_CHOICES:
            raise PydanticCustomError(
                "too_many_choices", "at most {limit} choices (prompts x n)", {"limit": MAX_CHOICES}
            )
        if self.stream and (not self.max_tokens or (self.echo and self.logprobs is not None)):
            raise PydanticCustomError(
                "unsupported", "a stream needs max_tokens >= 1, and no logprobs with echo"
            )
        return self

    @property
    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)

    @property
    def stops(self) -> list[str]:
        return [self.stop] if isinstance(self.stop, str) else list(self.stop or [])


class Logprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class Choice(BaseModel):
    text: str
    index: int
    logprobs: Logprobs | None = None
    finish_reason: Literal["length", "stop"] | None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "seqserve"


class ModelCards(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class OpenAIError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorBody(BaseModel):
    """Every error on /v1/ (app/errors.py rewrites the service's own shape into this one)."""

    error: OpenAIError


ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": OpenAIErrorBody} for status in (400, 404, 413, 422, 503)
}
