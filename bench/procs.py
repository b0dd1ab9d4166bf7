"""Server processes: start on a free loopback port, wait until ready, measure memory, stop.

Each server runs in its own session (process group), so stopping it also stops anything it
started, and a Ctrl-C in the terminal reaches only the benchmark, which then stops the servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

import psutil

HOST = "127.0.0.1"
INTERRUPTED = "\ninterrupted: every server started has been stopped"


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class ServerFailed(RuntimeError):
    """A server exited or did not get ready in time; the message ends with its log."""


@dataclass
class Server:
    """One started server process and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float  # time.perf_counter() just before the process was spawned
    ready_seconds: float | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """Status and body of a GET; (0, b"") when nothing answered."""
        try:
            with urllib.request.urlopen(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0, b""

    def wait_ready(self, path: str, timeout: float) -> float:
        """Poll `path` until it answers 200 (not listening yet, or 503 while models load);
        seconds from spawn to that answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.name} exited with code {self.process.returncode}:\n{self.log_tail()}"
                )
            if self.get(path, timeout=1)[0] == 200:
                self.ready_seconds = time.perf_counter() - self.started_at
                return self.ready_seconds
            time.sleep(0.01)
        raise ServerFailed(f"{self.name} not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _tree(self) -> list[psutil.Process]:
        """The process and its descendants still running."""
        try:
            leader = psutil.Process(self.process.pid)
            return [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) used so far by the process and its descendants."""
        total = 0.0
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the process and all its descendants (VmRSS)."""
        total = 0
        for process in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after `grace` seconds."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=grace)
        # Children that outlived the leader (its group id is still the leader's pid).
        _signal_group(self.process.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


@contextlib.contextmanager
def serve(
    name: str,
    command: Sequence[str],
    port: int,
    env: Mapping[str, str],
    log_dir: Path,
    cwd: Path,
) -> Iterator[Server]:
    """Start a server and stop it (and its children) on leaving, whatever happened."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        started_at = time.perf_counter()
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, log_path, started_at)
    try:
        yield server
    finally:
        # A second Ctrl-C must not cut the clean-up short: it is held until the server is gone.
        held = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
        try:
            server.stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the `with serve(...)` blocks stop their servers."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
