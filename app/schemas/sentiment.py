"""/sentiment: what a request may send and what the answer holds."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator
from pydantic_core import PydanticCustomError

from app.tasks.base import ModelRef, PlainText, StrictRequest


def _not_blank(text: str) -> str:
    # Stops at the first visible character, so a long review costs one or two lookups.
    if not any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text):
        raise PydanticCustomError(
            "blank_text", "text must contain a visible character (not only spaces or zero-width)"
        )
    return text


Text = Annotated[PlainText, AfterValidator(_not_blank)]


class SentimentRequest(StrictRequest):
    """Exactly one of `text` (a single text) or `texts` (several, answered in order)."""

    text: Text | None = Field(default=None, examples=["A moving, beautifully shot film."])
    texts: list[Text] | None = Field(
        default=None, min_length=1, examples=[["Loved it.", "Two hours I will never get back."]]
    )

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if (self.text is None) == (self.texts is None):
            raise PydanticCustomError("text_xor_texts", "give exactly one of 'text' or 'texts'")
        return self

    @property
    def all_texts(self) -> list[str]:
        return [self.text] if self.text is not None else list(self.texts or [])


class SentimentPrediction(BaseModel):
    label: str = Field(examples=["positive"])
    score: float = Field(ge=0, le=1, description="probability of `label`", examples=[0.93])
    scores: dict[str, float] = Field(
        description="probability of every label", examples=[{"negative": 0.07, "positive": 0.93}]
    )


def prediction(positive: float, labels: tuple[str, str]) -> SentimentPrediction:
    """The likelier label, its probability and both probabilities, from P(positive)."""
    scores = {labels[0]: 1.0 - positive, labels[1]: positive}
    label = labels[1] if positive >= 0.5 else labels[0]
    return SentimentPrediction(label=label, score=scores[label], scores=scores)


class SentimentResponse(BaseModel):
    predictions: list[SentimentPrediction] = Field(description="one per input text, in order")
    model: ModelRef
