"""The real service as the benchmarks start it, and what they share around it.

`running_service()` starts `python -m app` on a free loopback port with the models given, waits
for `/ready`, and stops it on leaving. Any SEQSERVE_* variable in the environment is passed
through; `overrides` set more (the overload run lowers the queue limit this way). What the
service counts about itself is read in bench/metrics.py.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from app.artifacts import TASKS, list_versions
from bench.machine import cpu_busy
from bench.options import PROJECT_ROOT, RESULTS
from bench.procs import HOST, Server, free_port, serve, stop_on_sigterm


def check_models(models_dir: Path) -> None:
    missing = [task for task in TASKS if not list_versions(models_dir / task)]
    if missing:
        raise SystemExit(
            f"no trained {', '.join(missing)} model in {models_dir}; train with "
            f"`python -m training all --if-missing --models-dir {models_dir}` or pass --models-dir"
        )


def prepare(models_dir: Path) -> float:
    """Before a tool starts the service: trained models there, SIGTERM unwinding like Ctrl-C
    (so every server started is stopped), and how busy other work keeps the CPUs, printed and
    returned for the report."""
    check_models(models_dir)
    stop_on_sigterm()
    busy = cpu_busy()
    print(f"other work keeps the CPUs {busy:.0%} busy; load average {os.getloadavg()[0]:.2f}")
    return busy


def auth_headers() -> dict[str, str]:
    """With SEQSERVE_API_KEY set the service wants it on inference requests."""
    key = os.environ.get("SEQSERVE_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


@contextlib.contextmanager
def running_service(
    models_dir: Path,
    name: str = "service",
    overrides: Mapping[str, str] | None = None,
    log_dir: Path = RESULTS,
    ready_timeout: float = 120,
) -> Iterator[Server]:
    """`python -m app` on a free port, ready (`server.ready_seconds` set), stopped on leaving."""
    port = free_port()
    env = dict(os.environ)
    # The load generator is one address standing for many clients: no per-client connection cap.
    env.setdefault("SEQSERVE_MAX_CONNECTIONS_PER_CLIENT", "0")
    env.update(overrides or {})
    env.update(SEQSERVE_HOST=HOST, SEQSERVE_PORT=str(port), SEQSERVE_MODELS_DIR=str(models_dir))
    with serve(name, [sys.executable, "-m", "app"], port, env, log_dir, PROJECT_ROOT) as server:
        server.wait_ready("/ready", timeout=ready_timeout)
        yield server


@dataclass(frozen=True)
class Health:
    """The service after a run: alive, its /health and /ready statuses (0: no answer), RSS."""

    alive: bool
    health: int
    ready: int
    rss_mb: float

    @property
    def ok(self) -> bool:
        return self.alive and self.health == 200 and self.ready == 200

    def text(self) -> str:
        alive = "alive" if self.alive else "**DEAD**"
        return f"{alive}, /health {self.health}, /ready {self.ready}"


def health_check(server: Server) -> Health:
    alive = server.process.poll() is None
    statuses = server.get("/health")[0], server.get("/ready")[0]
    return Health(alive, *statuses, server.rss_bytes() / 2**20)
