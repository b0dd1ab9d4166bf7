"""A real service process for the tests that need one (end to end, connections, client, V2):
`python -m app` or `uvicorn app.main:app` on a free loopback port, over the given models."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.config import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, models_dir: Path, log: Path, module: str = "uvicorn", **env: str) -> None:
        """`module` "uvicorn" runs `uvicorn app.main:app`; "app" runs `python -m app`."""
        self.port, self.log = free_port(), log
        self.url = f"http://127.0.0.1:{self.port}"
        settings = {f"SEQSERVE_{k.upper()}": v for k, v in env.items()}
        environment = {
            **os.environ,
            "SEQSERVE_MODELS_DIR": str(models_dir),
            "SEQSERVE_PORT": str(self.port),
            **settings,
        }
        command = [sys.executable, "-m", module]
        if module == "uvicorn":
            command += ["app.main:app", "--port", str(self.port)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def wait_until_loaded(self, seconds: float = 60) -> list[httpx.Response]:
        """Poll /ready until no model is pending or loading; returns every answer seen."""
        seen: list[httpx.Response] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                seen.append(self.client.get("/ready"))
            except httpx.TransportError:
                time.sleep(0.05)  # not listening yet
                continue
            details = seen[-1].json().get("details", [])
            if not any(d["message"] in ("pending", "loading") for d in details):
                break
            time.sleep(0.05)
        return seen

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
