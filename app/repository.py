"""The model repository on disk: `models/<name>/<version>/`, and which versions each model serves.

A model's name is its directory; each version's metadata.json says which task it serves, so any
number of models may serve one task. Which versions of a model are served is its policy, as in
TF Serving: `latest` (the default), `specific` versions, or `all`.

    SEQSERVE_MODEL_POLICY="sales=specific:3,4; forecast=all"

Pure functions over the file system; app/registry.py decides what to load and when.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from app.artifacts import METADATA_FILE, TASKS, Task, list_versions

# Letters, digits, '.', '_' and '-', starting with a letter or digit: safe in a URL path segment
# and a metric label, and never a hidden (staging) directory.
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PolicyKind = Literal["latest", "specific", "all"]


@dataclass(frozen=True)
class Policy:
    kind: PolicyKind = "latest"
    versions: tuple[int, ...] = ()  # for `specific`

    @classmethod
    def parse(cls, text: str) -> Policy:
        kind, _, numbers = text.strip().partition(":")
        if kind in ("latest", "all") and not numbers:
            return cls(cast(PolicyKind, kind))
        if kind == "specific" and numbers:
            versions = tuple(sorted({int(n) for n in numbers.split(",")}))
            if all(v > 0 for v in versions):
                return cls("specific", versions)
        raise ValueError(f"{text!r} is not a version policy (latest, all, or specific:3,4)")

    def select(self, available: list[int]) -> list[int]:
        """The published versions this policy serves, ascending."""
        if self.kind == "all":
            return list(available)
        if self.kind == "specific":
            return [v for v in self.versions if v in available]
        return available[-1:]

    def missing(self, available: list[int]) -> list[int]:
        """Versions the policy names that are not published (only `specific` names any)."""
        return [v for v in self.versions if v not in available]


def parse_assignments(text: str, what: str) -> dict[str, str]:
    """ "a=x; b=y" -> {"a": "x", "b": "y"}, each name a valid model name."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not MODEL_NAME.fullmatch(name) or not value:
            raise ValueError(f"{part!r}: expected <name>=<{what}>")
        pairs[name] = value
    return pairs


def model_names(models_dir: Path) -> list[str]:
    """Every directory of the repository that is named like a model, sorted."""
    if not models_dir.is_dir():
        return []
    return sorted(
        p.name for p in models_dir.iterdir() if MODEL_NAME.fullmatch(p.name) and p.is_dir()
    )


def model_task(model_dir: Path) -> Task | None:
    """The task of a model's highest version, from its metadata (None if unreadable)."""
    versions = list_versions(model_dir)
    if not versions:
        return None
    try:
        task = json.loads((model_dir / str(versions[-1]) / METADATA_FILE).read_bytes()).get("task")
    except (OSError, ValueError, AttributeError):
        return None
    return cast(Task, task) if task in TASKS else None


def signature(version_dir: Path) -> tuple[int, ...]:
    """Changes when a version directory is replaced or its metadata rewritten."""
    try:
        folder, meta = version_dir.stat(), (version_dir / METADATA_FILE).stat()
    except OSError:
        return ()
    return (folder.st_ino, folder.st_mtime_ns, meta.st_mtime_ns, meta.st_size)
