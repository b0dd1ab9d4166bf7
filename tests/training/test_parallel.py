"""`python -m training all` trains its tasks side by side, one process each."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from app.artifacts import read_metadata, resolve_version
from training.cli import parser
from training.parallel import task_argv, train_in_parallel


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["all"], ["--preset", "default"]),
        (
            ["all", "--preset", "tiny", "--models-dir", "/m", "--epochs", "2", "--download"],
            ["--preset", "tiny", "--models-dir", "/m", "--download", "--epochs", "2"],
        ),
        (
            ["all", "--no-bidirectional", "--if-missing"],
            ["--preset", "default", "--no-bidirectional"],
        ),
        (["all", "--bidirectional", "--jobs", "3"], ["--preset", "default", "--bidirectional"]),
    ],
)
def test_each_task_gets_the_options_of_all_and_runs_alone(
    argv: list[str], expected: list[str]
) -> None:
    task_options = task_argv(parser().parse_args(argv), "sentiment")
    assert task_options == ["sentiment", "--jobs", "1", "--part-of-all", *expected]


@pytest.mark.slow  # a tiny training in a process of its own
def test_a_task_of_all_trains_in_its_own_process_and_tolerates_other_tasks_options(
    tmp_path: Path, tiny_data: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    argv = ["all", "--preset", "tiny", "--models-dir", str(models), "--data-dir", str(tmp_path)]
    # --bidirectional is a sentiment option: `generate --bidirectional` alone would be refused.
    args = parser().parse_args(
        [*argv, "--data-file", str(tiny_data["generate"]), "--bidirectional"]
    )
    [(task, code, seconds)] = train_in_parallel(["generate"], args, jobs=1)
    assert (task, code) == ("generate", 0) and seconds > 0
    assert read_metadata(resolve_version(models / "generate")).task == "generate"
    lines = capfd.readouterr().out.splitlines()
    assert any(line.startswith("[generate] generate: ") for line in lines), lines[-5:]
    assert not any("held-out metrics" in line for line in lines)  # one summary, by `all`


def _fake_tasks(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Each task's process runs `code` instead of training."""
    monkeypatch.setattr(
        "training.parallel.training_command", lambda argv: [sys.executable, "-c", code]
    )


def test_a_task_killed_by_a_signal_reports_the_shell_exit_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_tasks(monkeypatch, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    [(_, code, _)] = train_in_parallel(["generate"], parser().parse_args(["all"]), jobs=1)
    assert code == 128 + signal.SIGKILL


@pytest.mark.slow  # waits a second for the tasks to start
def test_sigterm_stops_the_tasks_still_training(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pids = tmp_path / "pids"
    _fake_tasks(
        monkeypatch,
        f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(60)",
    )
    before = signal.getsignal(signal.SIGTERM)
    sigterm = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    sigterm.start()
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as stopped:
            train_in_parallel(["generate", "forecast"], parser().parse_args(["all"]), jobs=2)
    finally:
        sigterm.cancel()  # had the tasks ended first, a late SIGTERM would end pytest itself
    assert stopped.value.code == 128 + signal.SIGTERM
    assert time.monotonic() - started < 30  # not the tasks' 60 s
    for pid in map(int, pids.read_text().split()):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone (and reaped: Popen waited for it)
    assert signal.getsignal(signal.SIGTERM) == before  # the caller's handler is back
