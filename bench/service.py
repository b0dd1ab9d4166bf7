"""The real service as the benchmarks start it, and what they share around it.

`running_service()` starts `python -m app` on a free loopback port with the models given, waits
for `/ready`, and stops it on leaving. Any SEQSERVE_* variable in the environment is passed
through; `overrides` set more (the overload run lowers the queue limit this way).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType

from app.artifacts import TASKS, list_versions
from bench.options import PROJECT_ROOT, RESULTS
from bench.procs import HOST, Server, free_port, serve

INTERRUPTED = "\ninterrupted: every server started has been stopped"


def write_report(text: str, path: Path) -> None:
    """Print the report and write it to `path`."""
    print("\n" + text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"written to {path}")


def check_models(models_dir: Path) -> None:
    missing = [task for task in TASKS if not list_versions(models_dir / task)]
    if missing:
        raise SystemExit(
            f"no trained {', '.join(missing)} model in {models_dir}; train with "
            f"`python -m training all --if-missing --models-dir {models_dir}` or pass --models-dir"
        )


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the `with serve(...)` blocks stop their servers."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


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


def get(server: Server, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of a GET; (0, b"") when nothing answered."""
    try:
        with urllib.request.urlopen(server.url + path, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


def health_check(server: Server) -> tuple[bool, int, int]:
    """(process alive, /health status, /ready status); 0 for a status nobody answered."""
    return server.process.poll() is None, get(server, "/health")[0], get(server, "/ready")[0]


Sample = tuple[str, dict[str, str], float]  # metric name, labels, value


def scrape(server: Server) -> list[Sample]:
    """Every sample of the service's /metrics (Prometheus text format); [] when unavailable."""
    status, body = get(server, "/metrics")
    samples: list[Sample] = []
    if status != 200:
        return samples
    for line in body.decode("utf-8", "replace").splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, labels_text = head.partition("{")
        labels = {}
        for part in _split_labels(labels_text.removesuffix("}")):
            key, _, quoted = part.partition("=")
            labels[key] = json.loads(quoted)
        samples.append((name, labels, float(value)))
    return samples


def server_counts(server: Server) -> dict[tuple[str, str], float]:
    """The service's own request counter from /metrics: (endpoint, status) -> count."""
    counts: dict[tuple[str, str], float] = {}
    for name, labels, value in scrape(server):
        if name == "seqserve_requests_total":
            key = (labels.get("endpoint", ""), labels.get("status", ""))
            counts[key] = counts.get(key, 0.0) + value
    return counts


def model_calls(server: Server, model: str) -> dict[str, float]:
    """Totals for `model` from the service's batch histograms: "calls", "rows" and "compute_s"
    (model-call time, preprocessing included)."""
    wanted = {
        "seqserve_batch_rows_count": "calls",
        "seqserve_batch_rows_sum": "rows",
        "seqserve_batch_compute_seconds_sum": "compute_s",
    }
    return {
        wanted[name]: value
        for name, labels, value in scrape(server)
        if name in wanted and labels.get("model") == model
    }


def batch_rows(server: Server, model: str) -> dict[float, float]:
    """The service's histogram of rows per model call for `model`: upper bound -> calls (with
    that many rows or fewer, cumulative, as Prometheus keeps it)."""
    return {
        float(labels["le"]): value
        for name, labels, value in scrape(server)
        if name == "seqserve_batch_rows_bucket" and labels.get("model") == model
    }


def _split_labels(text: str) -> list[str]:
    """'a="x",b="y,z"' -> ['a="x"', 'b="y,z"'] (commas inside quotes are kept)."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if current else parts
