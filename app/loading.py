"""Loading one version of one model: verify the artifact, open its runtime, build its predictor.

The registry decides what to load and when (app/registry.py); this module is the only code that
opens model files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from app.artifacts import (
    FORMAT_VERSION,
    Task,
    read_metadata,
    resolve_version,
    verify_files,
)
from app.batching import Batching
from app.config import Settings
from app.runtime import open_runtime
from app.tasks import DECLARATIONS
from app.tasks.base import Predictor

State = Literal["pending", "loading", "ready", "failed"]
STATES: tuple[State, ...] = ("pending", "loading", "ready", "failed")


class ArtifactError(Exception):
    """An artifact that exists but cannot be served (corrupt, mismatched, wrong inputs)."""


@dataclass(frozen=True)
class Target:
    """One version of one model: `directory` is models/<name>; `version` None if none exists."""

    name: str
    task: Task
    version: int | None
    directory: Path


def load_predictor(target: Target, settings: Settings, batching: Batching) -> Predictor:
    """Verify and open one version (FileNotFoundError when nothing is published)."""
    if target.version is None:
        resolve_version(target.directory)  # raises, saying why nothing was found
        raise FileNotFoundError(f"no version of {target.name}/ is chosen by its policy")
    version_dir = target.directory / str(target.version)
    where = f"{target.name}/{version_dir.name}"
    try:
        metadata = read_metadata(version_dir)
        if metadata.task != target.task or metadata.format_version != FORMAT_VERSION:
            raise ValueError(
                f"metadata.json describes a {metadata.task} artifact of format "
                f"{metadata.format_version}; this model serves {target.task}, format "
                f"{FORMAT_VERSION}"
            )
        if metadata.version != target.version:  # a copied or renamed directory
            raise ValueError(f"metadata.json says version {metadata.version}")
        verify_files(version_dir, metadata)
        declaration = DECLARATIONS[target.task]
        threads = settings.runtime_threads(declaration.parallel_runtime)
        runtime = open_runtime(settings.runtime, version_dir, threads)
        named = metadata.model_copy(update={"name": target.name})
        return declaration.load(version_dir, named, runtime, batching)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(f"{where}: metadata.json is invalid ({field}: {first['msg']})") from exc
    except Exception as exc:
        # Runtimes put absolute paths in their messages; reasons are public, paths are not.
        message = str(exc).replace(str(settings.models_dir.resolve()), "<models>")
        message = message.replace(str(settings.models_dir), "<models>")
        raise ArtifactError(f"{where}: {message}") from exc
