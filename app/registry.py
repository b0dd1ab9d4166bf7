"""The only module that loads models: finds each task's version, verifies it, builds its predictor.

Each enabled task has a state (pending -> loading -> ready | failed) and, when it failed, a reason
that says how to fix it. A task that fails does not stop the others: the service starts, /ready
lists what is missing and that task's endpoint answers 503 with the same reason.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from app.artifacts import (
    FORMAT_VERSION,
    Metadata,
    Task,
    read_metadata,
    resolve_version,
    verify_files,
)
from app.batching import Batching, BatchObserver
from app.config import Settings
from app.errors import ModelNotReady
from app.runtime import Runtime, open_runtime
from app.tasks.base import Predictor
from app.tasks.forecast import ForecastPredictor
from app.tasks.generate import GeneratePredictor
from app.tasks.sentiment import SentimentPredictor

logger = logging.getLogger("seqserve.registry")

State = Literal["pending", "loading", "ready", "failed"]
STATES: tuple[State, ...] = ("pending", "loading", "ready", "failed")
Builder = Callable[[Task, Settings, Batching], Predictor]
_FACTORIES: dict[Task, Callable[[Path, Metadata, Runtime, Batching], Predictor]] = {
    "forecast": ForecastPredictor.from_artifact,
    "sentiment": SentimentPredictor.from_artifact,
    "generate": GeneratePredictor.from_artifact,
}


class ArtifactError(Exception):
    """An artifact that exists but cannot be served (corrupt, mismatched, wrong inputs)."""


@dataclass(frozen=True)
class ModelStatus:
    task: Task
    state: State
    reason: str | None = None
    predictor: Predictor | None = None


def load_predictor(task: Task, settings: Settings, batching: Batching) -> Predictor:
    """Resolve, verify and open one task's artifact (FileNotFoundError when none is published)."""
    version_dir = resolve_version(settings.models_dir / task, settings.pinned_version(task))
    where = f"{task}/{version_dir.name}"
    try:
        metadata = read_metadata(version_dir)
        if metadata.task != task or metadata.format_version != FORMAT_VERSION:
            raise ValueError(
                f"metadata.json describes a {metadata.task} artifact of format "
                f"{metadata.format_version}; this server reads {task} format {FORMAT_VERSION}"
            )
        if str(metadata.version) != version_dir.name:  # a copied or renamed directory
            raise ValueError(f"metadata.json says version {metadata.version}")
        verify_files(version_dir, metadata)
        runtime = open_runtime(settings.runtime, version_dir, settings.threads_for(task))
        return _FACTORIES[task](version_dir, metadata, runtime, batching)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise ArtifactError(f"{where}: metadata.json is invalid ({field}: {first['msg']})") from exc
    except Exception as exc:
        # Runtimes put absolute paths in their messages; reasons are public, paths are not.
        message = str(exc).replace(str(settings.models_dir.resolve()), "<models>")
        message = message.replace(str(settings.models_dir), "<models>")
        raise ArtifactError(f"{where}: {message}") from exc


class Registry:
    def __init__(self, settings: Settings, builder: Builder = load_predictor) -> None:
        self.settings, self._builder = settings, builder
        # Set by create_app before loading starts: the metrics that hear about every batch.
        self.batch_observer: BatchObserver | None = None
        # Written by the loader thread, read by requests: every key exists from the start and
        # each value is replaced whole (frozen), so readers never see a half-updated status.
        self._status = {t: ModelStatus(t, "pending") for t in settings.tasks}
        self._started = False
        self._lock = threading.Lock()

    def start_loading(self) -> None:
        """Load every task in a background thread so the server answers /health meanwhile."""
        if self._claim():
            threading.Thread(target=self._load_all, name="model-loader", daemon=True).start()

    def load_all(self) -> None:
        """Load every enabled task now, in this thread (tests and scripts)."""
        if self._claim():
            self._load_all()

    def _claim(self) -> bool:
        """True for the first caller only: models load once per registry."""
        with self._lock:
            first, self._started = not self._started, True
        return first

    def _load_all(self) -> None:
        for task in self._status:
            self._load(task)

    def _load(self, task: Task) -> None:
        self._status[task] = ModelStatus(task, "loading")
        started = time.monotonic()
        try:
            batching = Batching(self.settings.batch_limits(), self.batch_observer)
            predictor = self._builder(task, self.settings, batching)
            if self.settings.warm_up:
                predictor.warm_up()
        except FileNotFoundError as exc:
            self._fail(task, f"{exc}; train one with `python -m training {task}`")
        except ArtifactError as exc:
            self._fail(task, f"{exc}; retrain with `python -m training {task}`")
        except Exception as exc:  # a bug or an unexpected runtime error: keep serving the rest
            logger.exception("loading %s failed", task)
            self._fail(task, f"unexpected error while loading ({type(exc).__name__}); see the log")
        else:
            self._status[task] = ModelStatus(task, "ready", predictor=predictor)
            seconds = round(time.monotonic() - started, 2)
            info = predictor.info
            logger.info(
                "model ready",
                extra={
                    "task": task,
                    "version": info.version,
                    "runtime": info.runtime,
                    "seconds": seconds,
                },
            )

    def _fail(self, task: Task, reason: str) -> None:
        logger.error("model failed: %s", reason, extra={"task": task})
        self._status[task] = ModelStatus(task, "failed", reason)

    def statuses(self) -> list[ModelStatus]:
        return list(self._status.values())

    @property
    def ready(self) -> bool:
        return all(s.state == "ready" for s in self._status.values())

    def get(self, task: Task) -> Predictor:
        status = self._status.get(task)
        if status is None:
            raise ModelNotReady(task, "disabled", "not in SEQSERVE_TASKS")
        if status.predictor is None:
            state = "loading" if status.state in ("pending", "loading") else status.state
            raise ModelNotReady(task, state, status.reason)
        return status.predictor
