"""SEQSERVE_WORKERS (app/workers.py): several processes on one port, one /ready and one /metrics."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app.workers import WorkerReadiness
from tests.helpers import assert_error
from tests.processes import Server


def a_dead_pid() -> int:
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()
    return probe.pid


def test_only_live_workers_count_as_ready(tmp_path: Path) -> None:
    readiness = WorkerReadiness(tmp_path, workers=3)
    readiness.mark(True)
    (tmp_path / f"ready-{os.getppid()}").touch()  # a live sibling
    (tmp_path / f"ready-{a_dead_pid()}").touch()  # a worker that died without cleaning up
    (tmp_path / "ready-not-a-pid").touch()
    assert readiness.ready_workers() == 2
    readiness.leave()
    assert readiness.ready_workers() == 1


def test_ready_waits_for_every_worker(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    client = make_client(workers=2, PROMETHEUS_MULTIPROC_DIR=str(shared))
    deadline = time.monotonic() + 10
    while not (shared / f"ready-{os.getpid()}").exists():  # this worker's lifespan marks it
        assert time.monotonic() < deadline
        time.sleep(0.05)
    body = assert_error(client.get("/ready"), 503, "not_ready")
    assert body["error"] == "1 of 2 worker processes ready"
    (shared / f"ready-{os.getppid()}").touch()  # the sibling is ready too
    assert client.get("/ready").status_code == 200


@pytest.mark.slow
def test_two_workers_serve_one_port_and_count_together(tiny_models: Path, tmp_path: Path) -> None:
    server = Server(tiny_models, tmp_path / "server.log", module="app", workers="2")
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.process.poll() is None, server.log.read_text()
            try:
                if server.client.get("/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.1)
        sent = 40
        body = {"series": [float(i % 7) for i in range(400)], "horizon": 4}
        for _ in range(sent):  # a new connection each: the workers take turns accepting
            answer = httpx.post(f"{server.url}/forecast", json=body, timeout=30)
            assert answer.status_code == 200
        counted = re.compile(r'seqserve_requests_total\{endpoint="/forecast",[^}]*\} (\S+)')
        for _ in range(6):  # whichever worker answers the scrape counts every worker's requests
            scraped = httpx.get(f"{server.url}/metrics", timeout=30).text
            assert [float(v) for v in counted.findall(scraped)] == [sent]
    finally:
        server.stop()
    # Each worker logs its end (its start comes before its lifespan configures logging).
    finished = set(re.findall(r"Finished server process \[(\d+)\]", server.log.read_text()))
    assert len(finished) == 2
