"""`python -m training all` with several tasks at once: one process per task.

A single task keeps a 2-core machine only ~1.4 cores busy (Python between TensorFlow's ops,
data preparation, evaluation), so training the tasks side by side finishes sooner than one
after another. Each task keeps the threads it would have alone: the number of threads sets
the order of TensorFlow's floating-point sums, and with it the trained weights (the forecast
network trained with one thread instead of two scored M4 hourly MASE 0.863 instead of 0.846),
so side by side gives the same models as one after another on the same machine (so no thread
count is set here: each process takes TensorFlow's default, as when alone). Each task's
output is printed line by line with its name in front.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The default presets' times alone on a 2-core machine: generate ~266 s, forecast ~221 s,
# sentiment ~146 s. Longest first, so that two lanes end close together.
LONGEST_FIRST = ("generate", "forecast", "sentiment")
_PRINT = threading.Lock()  # also guards _RUNNING
_RUNNING: set[subprocess.Popen[bytes]] = set()  # children still training
_LINE_END = re.compile(rb"[\r\n]+")  # a progress bar redraws with \r: each redraw is a line


def train_in_parallel(
    tasks: list[str], args: argparse.Namespace, jobs: int
) -> list[tuple[str, int, float]]:
    """(task, exit code, seconds) of each task, trained `jobs` at a time. Interrupted (Ctrl-C,
    SIGTERM, an error), it stops the tasks still training before it returns."""
    env = os.environ | {
        "TQDM_MININTERVAL": "15",  # bars redraw every 15 s: a line each, not a stream
        "PYTHONUNBUFFERED": "1",  # lines as they are printed, in order with the bars
    }
    ordered = sorted(tasks, key=lambda t: LONGEST_FIRST.index(t) if t in LONGEST_FIRST else 0)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with ThreadPoolExecutor(jobs) as pool:
        try:
            return list(pool.map(lambda task: _run(task, task_argv(args, task), env), ordered))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            _stop_children()
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through train_in_parallel, which stops the tasks


def _stop_children(grace_seconds: float = 10.0) -> None:
    with _PRINT:
        children = list(_RUNNING)
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            child.kill()


def task_argv(args: argparse.Namespace, task: str) -> list[str]:
    """The command line of one task of `all`: the same options, run alone."""
    argv = [task, "--jobs", "1", "--part-of-all"]
    for dest, value in vars(args).items():
        if dest in ("task", "jobs", "if_missing", "part_of_all") or value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:  # store_true flags default to False; only one negates
            argv += ["--no-bidirectional"] if dest == "bidirectional" else []
        else:
            argv += [flag, str(value)]
    return argv


def training_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-m", "training", *argv]


def _run(task: str, argv: list[str], env: dict[str, str]) -> tuple[str, int, float]:
    started = time.monotonic()
    command = training_command(argv)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=Path.cwd()
    ) as child:
        assert child.stdout is not None
        with _PRINT:
            _RUNNING.add(child)
        pipe, pending = child.stdout.fileno(), b""
        for chunk in iter(lambda: os.read(pipe, 65536), b""):
            *lines, pending = _LINE_END.split(pending + chunk)
            _show(task, lines)
        _show(task, [pending])
        code = child.wait()
        with _PRINT:
            _RUNNING.discard(child)
    # Killed by a signal: the shell's convention (128 + signal), not a negative code.
    return task, 128 - code if code < 0 else code, time.monotonic() - started


def _show(task: str, lines: list[bytes]) -> None:
    text = [line.decode(errors="replace").rstrip() for line in lines]
    with _PRINT:
        for line in text:
            if line:
                print(f"[{task}] {line}", flush=True)
