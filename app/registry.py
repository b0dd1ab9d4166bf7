"""The only module that loads models: every model of the repository, each version its policy
serves, loaded, verified, warmed up and swapped in without a restart.

Each version has a state (pending -> loading -> ready | failed) and, when it failed, a reason
that says how to fix it. A model that fails does not stop the others. Every
`SEQSERVE_RELOAD_INTERVAL_SECONDS` (and on demand) the repository is scanned again: a new or
changed version is loaded and warmed in the background and then swapped in at once; a removed
one is dropped. Requests already running keep the predictor they started with, so they finish
on their version; its worker threads end once idle, and memory goes with the last reference.
A new version that fails is listed with its reason while the previous one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from app.artifacts import Task, list_versions
from app.batching import Batching, BatchObserver
from app.config import Settings
from app.exceptions import ModelNotFound, ModelNotReady
from app.loading import STATES, ArtifactError, State, Target, load_predictor
from app.repository import Policy, model_names, model_task, signature
from app.stages import BatchStages
from app.tasks.base import Predictor

logger = logging.getLogger("seqserve.registry")
Builder = Callable[[Target, Settings, Batching], Predictor]
__all__ = ["STATES", "Builder", "ModelStatus", "Registry", "State", "Target", "VersionStatus"]


@dataclass(frozen=True)
class VersionStatus:
    version: int | None  # None: nothing published yet
    state: State
    reason: str | None = None
    predictor: Predictor | None = None
    signature: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModelStatus:
    name: str
    task: Task
    versions: tuple[VersionStatus, ...]

    @property
    def serving(self) -> VersionStatus | None:
        """The highest ready version: what requests without a version number get."""
        ready = [v for v in self.versions if v.predictor is not None]
        return ready[-1] if ready else None

    @property
    def state(self) -> State:
        if self.serving is not None:
            return "ready"
        if any(v.state in ("pending", "loading") for v in self.versions):
            return "loading"
        return "failed"

    @property
    def reason(self) -> str | None:
        return next((v.reason for v in reversed(self.versions) if v.reason), None)

    @property
    def predictor(self) -> Predictor | None:
        return self.serving.predictor if self.serving else None


class _LabelledObserver:
    """Reports a version's batches under its model name and version."""

    def __init__(self, observer: BatchObserver, name: str, version: int | None) -> None:
        self.observer, self.label = observer, f"{name}:{version}"

    def observe_batch(self, model: str, queue_seconds: float, stages: BatchStages) -> None:
        self.observer.observe_batch(self.label, queue_seconds, stages)


class Registry:
    def __init__(self, settings: Settings, builder: Builder = load_predictor) -> None:
        self.settings, self._builder = settings, builder
        # Set by create_app before loading starts: the metrics that hear about every batch.
        self.batch_observer: BatchObserver | None = None
        # Replaced whole (frozen values, one dict assignment), so readers never see half an
        # update. The default model of every enabled task is always listed.
        self._models: dict[str, ModelStatus] = {
            settings.default_model(task): ModelStatus(
                settings.default_model(task), task, (VersionStatus(None, "pending"),)
            )
            for task in settings.tasks
        }
        self._required = set(self._models)  # what readiness waits for
        self._unloaded: set[str] = set()  # by the admin API, until loaded again
        self._scan_lock, self._claim_lock = threading.Lock(), threading.Lock()
        self._started = self._loaded = False

    # --- loading -------------------------------------------------------------------------

    def start_loading(self) -> None:
        """Load in a background thread so the server answers /health meanwhile, then poll."""
        if self._claim():
            threading.Thread(target=self._load_and_watch, name="model-loader", daemon=True).start()

    def load_all(self) -> None:
        """Load every model now, in this thread (tests and scripts); no polling."""
        if self._claim():
            self.rescan()
            self._mark_loaded()

    def _claim(self) -> bool:
        with self._claim_lock:
            first, self._started = not self._started, True
        return first

    def _load_and_watch(self) -> None:
        self.rescan()
        self._mark_loaded()
        interval = self.settings.reload_interval_seconds
        while interval > 0:
            time.sleep(interval)
            try:
                self.rescan()
            except Exception:  # a scan that fails is logged and tried again next time
                logger.exception("repository scan failed")

    def _mark_loaded(self) -> None:
        self._required |= set(self._models)  # every model found at start-up must be ready
        self._loaded = True

    def rescan(self) -> None:
        """Bring every model in line with the repository and its policy (one scan at a time)."""
        with self._scan_lock:
            found = self._discover()
            for name in [n for n in self._models if n not in found]:
                logger.info("model removed", extra={"model": name})
                del self._models[name]
                self._required.discard(name)  # removed on purpose: readiness no longer waits
            for name, task in found.items():
                self._refresh(name, task)

    def _discover(self) -> dict[str, Task]:
        models_dir = self.settings.models_dir
        found = {self.settings.default_model(t): t for t in self.settings.tasks}
        for name in model_names(models_dir):
            # A newest version with unreadable metadata must not take the model's older,
            # working versions down with it: the task already known stands.
            known = self._models.get(name)
            task = found.get(name) or model_task(models_dir / name) or (known and known.task)
            if task in self.settings.tasks:
                found[name] = task
        return {n: t for n, t in found.items() if n not in self._unloaded}

    def _refresh(self, name: str, task: Task) -> None:
        model_dir = self.settings.models_dir / name
        available = list_versions(model_dir)
        policy = self.settings.policy(name)
        wanted: list[int | None] = [*policy.select(available)] or [None]
        if available and wanted == [None]:  # a `specific` policy naming unpublished versions
            self._models[name] = ModelStatus(name, task, (self._unpublished(policy, available),))
            return
        current = {v.version: v for v in getattr(self._models.get(name), "versions", ())}
        kept = [
            self._unchanged_or_load(current.get(v), Target(name, task, v, model_dir))
            for v in wanted
        ]
        previous = self._models.get(name)
        if previous and previous.serving and all(v.predictor is None for v in kept):
            kept.insert(0, previous.serving)  # the new version failed: the old one serves on
        updated = ModelStatus(name, task, tuple(kept))
        if updated != previous:
            self._models[name] = updated  # the switch: one assignment

    def _unchanged_or_load(self, known: VersionStatus | None, target: Target) -> VersionStatus:
        """A version loaded (or refused) before and untouched since is not loaded again."""
        stamp = signature(target.directory / str(target.version)) if target.version else ()
        if known and known.state in ("ready", "failed") and known.signature == stamp:
            return known
        return self._load(target)

    @staticmethod
    def _unpublished(policy: Policy, available: list[int]) -> VersionStatus:
        missing = ", ".join(map(str, policy.missing(available)))
        published = ", ".join(map(str, available))
        reason = f"version {missing} not found (published: {published}); see SEQSERVE_MODEL_POLICY"
        return VersionStatus(None, "failed", reason)

    def _load(self, target: Target) -> VersionStatus:
        started = time.monotonic()
        stamp = signature(target.directory / str(target.version)) if target.version else ()
        try:
            observer = self.batch_observer
            labelled = observer and _LabelledObserver(observer, target.name, target.version)
            predictor = self._builder(
                target, self.settings, Batching(self.settings.batch_limits(), labelled)
            )
            if self.settings.warm_up:
                predictor.warm_up()
        except Exception as exc:
            reason = self._reason(target, exc)
            logger.error("model failed: %s", reason, extra={"model": target.name})
            return VersionStatus(target.version, "failed", reason, signature=stamp)
        extra = {"model": target.name, "version": target.version}
        logger.info("model ready", extra={**extra, "seconds": round(time.monotonic() - started, 2)})
        return VersionStatus(target.version, "ready", predictor=predictor, signature=stamp)

    def _reason(self, target: Target, exc: Exception) -> str:
        train = f"`python -m training {target.task}" + (
            f" --name {target.name}`" if target.name != target.task else "`"
        )
        if isinstance(exc, FileNotFoundError):
            return f"{exc}; train one with {train}"
        if isinstance(exc, ArtifactError):
            return f"{exc}; retrain with {train}"
        logger.exception("loading %s failed", target.name)  # a bug: keep serving the rest
        return f"unexpected error while loading ({type(exc).__name__}); see the log"

    # --- admin -----------------------------------------------------------------------------

    def unload(self, name: str) -> None:
        with self._scan_lock:
            self._unloaded.add(name)
            self._required.discard(name)
            self._models.pop(name, None)

    def load(self, name: str) -> None:
        with self._scan_lock:
            self._unloaded.discard(name)
        self.rescan()

    # --- reading ---------------------------------------------------------------------------

    def statuses(self) -> list[ModelStatus]:
        return list(self._models.values())

    def status(self, name: str) -> ModelStatus:
        status = self._models.get(name)
        if status is None:
            raise ModelNotFound(name)
        return status

    @property
    def ready(self) -> bool:
        # Snapshots (taken in C, so atomic): the loader thread may change both meanwhile.
        models, required = self._models.copy(), tuple(self._required)
        return self._loaded and all(
            name in models and models[name].serving is not None for name in required
        )

    def get(self, name: str, task: Task | None = None, version: int | None = None) -> Predictor:
        """The predictor of a model's serving version, or of one version; 404 or 503 if none."""
        status = self.status(name)
        if task is not None and status.task != task:
            raise ModelNotFound(name, f"serves {status.task}, not {task}")
        if version is None:
            if status.predictor is None:
                state = "failed" if status.state == "failed" else "loading"
                raise ModelNotReady(name, state, status.reason)
            return status.predictor
        entry = next((v for v in status.versions if v.version == version), None)
        if entry is None:
            raise ModelNotFound(name, f"version {version} is not served")
        if entry.predictor is None:
            raise ModelNotReady(name, entry.state, entry.reason)
        return entry.predictor
