"""Several worker processes on one port (SEQSERVE_WORKERS): what they share.

Each worker is a whole service of its own (models, admission, batching), started by uvicorn's
supervisor, which hands the listening socket to every worker and restarts one that dies. The
workers share one directory, made by the supervisor before it starts them:

- prometheus-client's multiprocess files (PROMETHEUS_MULTIPROC_DIR), so `/metrics` from any
  worker counts the requests of all of them;
- one `ready-<pid>` file per worker whose models are loaded and warm, so `/ready` from any worker
  is 200 only when every worker is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from prometheus_client import multiprocess

# The variable prometheus-client reads at import to write its values to files.
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_shared_directory() -> Path:
    """In the supervisor, before any worker starts: a fresh directory, named in the environment
    that the workers inherit (stale files of an earlier run would be counted)."""
    directory = Path(tempfile.mkdtemp(prefix="seqserve-workers-"))
    os.environ[MULTIPROCESS_ENV] = str(directory)
    return directory


def remove_shared_directory(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class WorkerReadiness:
    """This worker's readiness as a file beside its siblings'; a dead worker's file is ignored."""

    def __init__(self, directory: Path, workers: int) -> None:
        self.directory = directory
        self.workers = workers
        self._mine = directory / f"ready-{os.getpid()}"

    def mark(self, ready: bool) -> None:
        if ready:
            self._mine.touch()
        else:
            self._mine.unlink(missing_ok=True)

    def ready_workers(self) -> int:
        pids = (path.name.removeprefix("ready-") for path in self.directory.glob("ready-*"))
        return sum(_alive(int(pid)) for pid in pids if pid.isdigit())

    async def follow(self, is_ready: Callable[[], bool], interval: float = 0.25) -> None:
        """Mirror this worker's readiness into its file until cancelled."""
        marked: bool | None = None
        try:
            while True:
                if (ready := is_ready()) != marked:  # touch the file only when it changes
                    self.mark(ready)
                    marked = ready
                await asyncio.sleep(interval)
        finally:
            self.leave()

    def leave(self) -> None:
        """On shutdown: no longer ready, and no longer counted in the live gauges."""
        self.mark(False)
        with contextlib.suppress(OSError):
            multiprocess.mark_process_dead(os.getpid(), str(self.directory))
