"""Writing an artifact: files go to a hidden temporary directory that is renamed into place.

A crash or Ctrl-C at any point leaves either no new version or a complete one, never half of one:
loaders skip hidden directories and a rename within one file system is atomic.
"""

from __future__ import annotations

import json
import platform
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

from app.artifacts import (
    KERAS_FILE,
    METADATA_FILE,
    ONNX_FILE,
    Metadata,
    list_versions,
    read_metadata,
    sha256_file,
)

LIBRARIES = ("tensorflow", "keras", "numpy", "tf2onnx", "onnx")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            continue
    return versions


@contextmanager
def staging_dir(models_dir: Path, task: str) -> Iterator[Path]:
    """A hidden scratch directory next to the versions; removed unless it was published."""
    task_dir = models_dir / task
    task_dir.mkdir(parents=True, exist_ok=True)
    staging = task_dir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, fields: dict[str, Any]) -> Metadata:
    """Checksum the staged files, write metadata.json and rename to the next free version."""
    task_dir = staging.parent
    files = {p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file()}
    for attempt in range(100):
        version = (list_versions(task_dir) or [0])[-1] + 1 + attempt
        metadata = Metadata(
            version=version,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            libraries=library_versions(),
            files=files,
            **fields,
        )
        (staging / METADATA_FILE).write_text(
            json.dumps(metadata.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8"
        )
        target = task_dir / str(version)
        if target.exists():  # another run published this version first
            continue
        try:
            staging.rename(target)
        except OSError:
            continue
        return metadata
    raise RuntimeError(f"could not find a free version number in {task_dir}")


def publish_as(trained: Path, models_dir: Path, name: str) -> Metadata:
    """Publish a trained version as the next version of the model `name` (models/<name>/)."""
    metadata = read_metadata(trained)
    with staging_dir(models_dir, name) as staging:
        for path in trained.iterdir():
            if path.name != METADATA_FILE:
                shutil.move(path, staging / path.name)
        own = {"version", "created_at", "libraries", "files", "format_version", "name"}
        return publish(staging, {**metadata.model_dump(exclude=own), "name": name})


def save_keras_and_onnx(
    model: Any, input_signature: tuple[Any, ...], staging: Path, graph: Any = None
) -> None:
    """The Keras model (TensorFlow runtime) and the same graph as ONNX (default runtime).

    The ONNX graph is converted by tf2onnx unless one built by hand is given (`graph`).
    """
    import onnx
    import tf2onnx

    model.save(staging / KERAS_FILE)
    if graph is not None:
        onnx.save(graph, str(staging / ONNX_FILE))
        return
    tf2onnx.convert.from_keras(
        model, input_signature=input_signature, opset=17, output_path=str(staging / ONNX_FILE)
    )
