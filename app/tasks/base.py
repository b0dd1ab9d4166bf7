"""What every task shares: the strict request base, model descriptions and the predictor shape."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from app.artifacts import Metadata

if TYPE_CHECKING:
    from app.batching import Batching
    from app.runtime import Runtime

# C0 control characters other than tab, newline and carriage return, and DEL: they have no place
# in text and make terminals and log viewers misbehave. The C1 range (0x80-0x9f) is allowed:
# 3% of IMDB reviews hold Windows-1252 punctuation decoded as C1 (0x96 en dash, 0x85 ellipsis).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Half of a UTF-16 surrogate pair, alone: JSON's "\ud800" escape parses to one, but it is not a
# character, cannot be encoded as UTF-8, and breaks whatever handles the text next.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _no_control_characters(text: str) -> str:
    if match := _CONTROL.search(text):
        raise PydanticCustomError(
            "control_character",
            "control character {char} at position {position} is not allowed",
            {"char": repr(match.group()), "position": match.start()},
        )
    if match := _LONE_SURROGATE.search(text):
        raise PydanticCustomError(
            "lone_surrogate",
            "unpaired surrogate {char} at position {position} is not a character",
            {"char": repr(match.group()), "position": match.start()},
        )
    return text


PlainText = Annotated[str, AfterValidator(_no_control_characters)]


class StrictRequest(BaseModel):
    """Requests are parsed strictly, so mistakes fail loudly instead of being guessed at.

    - unknown fields are errors: a typo such as `"horizn": 12` must not silently use the default;
    - no coercion: `"12"` is not an integer and `12.0` is not an integer (a number is a number);
    - NaN and +-Infinity are rejected (Python's json module accepts them, JSON does not).
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ModelRef(BaseModel):
    name: str = Field(examples=["forecast"])
    version: str = Field(examples=["3"])


class ModelInfo(BaseModel):
    """What /models shows about a loaded model (training history is left out: it is long)."""

    name: str
    version: str
    created_at: str | None = None
    input: dict[str, Any] = Field(default_factory=dict, description="what a request must send")
    limits: dict[str, int] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    data: str | None = None
    runtime: str | None = None

    @property
    def ref(self) -> ModelRef:
        return ModelRef(name=self.name, version=self.version)

    @classmethod
    def from_metadata(cls, metadata: Metadata, runtime: str, **input: Any) -> ModelInfo:
        return cls(
            name=metadata.name or metadata.task,
            version=str(metadata.version),
            created_at=metadata.created_at,
            input=input,
            limits=metadata.limits,
            metrics=metadata.metrics,
            data=metadata.data.name,
            runtime=runtime,
        )


class Predictor(Protocol):
    """The narrow surface the registry needs; each task adds its own `predict`-style method."""

    @property
    def info(self) -> ModelInfo: ...

    def warm_up(self) -> None:
        """Run one tiny request so the first real one does not pay for lazy initialisation."""
        ...


@dataclass(frozen=True)
class TaskDeclaration:
    """Everything the service knows about one task, declared in the task's own module and listed
    once in app/tasks/__init__.py. Its request and response schemas live in app/schemas/."""

    name: str
    # Builds the task's predictor from one verified artifact.
    load: Callable[[Path, Metadata, Runtime, Batching], Predictor]
    # "module:attribute" of its APIRouter; only app.main imports it, so that this layer (the
    # predictors, the registry) never imports the web framework.
    router: str
    # More routers served while the task is enabled (the OpenAI API for generation).
    extra_routers: tuple[str, ...] = ()
    # Whether one model call is big enough to use all but one CPU (a batch of long reviews),
    # rather than one thread beside the other models' calls.
    parallel_runtime: bool = False
