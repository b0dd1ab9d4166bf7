"""`python -m training {forecast,sentiment,generate,all}`: train, evaluate and save artifacts."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.artifacts import TASKS, list_versions
from app.config import usable_cpus
from app.repository import MODEL_NAME
from training.settings import TrainingSettings

# tiny: seconds per task (tests); default: each task's CONFIG, the three in about ten minutes on
# a 2-core CPU; full: the best quality we reach on a CPU. Each task module holds its own PRESETS.
PRESET_NAMES = ("tiny", "default", "full")
# Options that map onto config fields of the same name (when the task's config has that field).
FIELD_OPTIONS = (
    "dataset",
    "data_file",
    "test_file",
    "cell",
    "layers",
    "units",
    "dropout",
    "bidirectional",
    "epochs",
    "batch_size",
    "seed",
    "time_budget",
)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    p.add_argument("task", choices=[*TASKS, "all"])
    p.add_argument("--preset", choices=PRESET_NAMES, default="default")
    p.add_argument("--data-dir", type=Path, help="datasets (default: SEQSERVE_DATA_DIR)")
    p.add_argument("--models-dir", type=Path, help="artifacts (default: SEQSERVE_MODELS_DIR)")
    p.add_argument(
        "--name", help="publish as the next version of this model (default: the task's name)"
    )
    p.add_argument("--download", action="store_true", help="fetch missing public datasets")
    p.add_argument("--if-missing", action="store_true", help="skip tasks that have a version")
    p.add_argument(
        "--dataset", help="forecast: m4_hourly|etth1|m1|m3 (default all); sentiment: imdb|csv"
    )
    p.add_argument("--data-file", type=Path, help="your own CSV (or text file for generate)")
    p.add_argument("--test-file", type=Path, help="sentiment: held-out CSV for --data-file")
    p.add_argument("--cell", choices=["lstm", "gru"])
    p.add_argument("--layers", type=int)
    p.add_argument("--units", type=int)
    p.add_argument("--dropout", type=float)
    p.add_argument("--bidirectional", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--time-budget", type=float, help="seconds of fitting at most")
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--jobs",
        type=int,
        help="all: tasks trained at once, one process each (default: one per usable CPU)",
    )
    # A task started by `all --jobs N` (training/parallel.py): options of other tasks are fine.
    p.add_argument("--part-of-all", action="store_true", help=argparse.SUPPRESS)
    return p


def config_for(task: str, args: argparse.Namespace) -> Any:
    """The task's config dataclass: defaults, then the preset, then explicit options."""
    module = _task_module(task)
    overrides = dict(module.PRESETS.get(args.preset, {}))
    names = {f.name for f in dataclasses.fields(module.CONFIG)}
    for option in FIELD_OPTIONS:
        value = getattr(args, option)
        if value is not None and option in names:
            overrides[option] = value
        elif value is not None and not (args.task == "all" or args.part_of_all):
            # `all` passes every option to every task: some are for some tasks only
            flag = "--" + option.replace("_", "-")
            raise SystemExit(f"python -m training {task}: {task} has no option {flag}")
    if args.data_file is not None and "dataset" in names and args.dataset is None:
        overrides["dataset"] = "csv"
    return module.CONFIG(**overrides)


def _task_module(task: str) -> Any:
    # Imported on demand: TensorFlow takes seconds to import and `--help` should not wait.
    return importlib.import_module(f"training.{task}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = TrainingSettings()
    data_dir = args.data_dir or settings.data_dir
    models_dir = args.models_dir or settings.models_dir
    tasks = list(TASKS) if args.task == "all" else [args.task]
    if args.name is not None and (args.task == "all" or not MODEL_NAME.fullmatch(args.name)):
        print("error: --name needs one task and a name of letters, digits, '.', '_', '-'")
        return 2
    if args.if_missing:
        tasks = [t for t in tasks if not list_versions(models_dir / (args.name or t))]
        if not tasks:
            print(f"every task already has a trained version in {models_dir}")
            return 0
    # Before TensorFlow is first imported: keep its C++ start-up chatter (CUDA probing) quiet.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from training.data.files import DataError  # after argument parsing, like the tasks

    jobs = args.jobs or min(len(tasks), usable_cpus())
    if len(tasks) > 1 and jobs > 1:
        return train_side_by_side(tasks, args, jobs, models_dir)
    rows = []
    for task in tasks:
        started = time.monotonic()
        try:
            metadata = train(task, config_for(task, args), data_dir, models_dir, args)
        except (DataError, ValueError) as exc:
            print(f"error: {task}: {exc}", file=sys.stderr)
            return 2
        name = metadata.name or task
        rows.append((task, name, metadata.version, metadata.metrics, time.monotonic() - started))
    if not args.part_of_all:  # else `all` prints one summary of every task
        print_summary(rows, models_dir)
    return 0


def train(
    task: str, config: Any, data_dir: Path, models_dir: Path, args: argparse.Namespace
) -> Any:
    """Train and publish one model: as models/<task>/<next>/, or as models/<name>/<next>/."""
    if args.name is None:
        return _task_module(task).train(config, data_dir, models_dir, args.download)
    from training.export import publish_as

    models_dir.mkdir(parents=True, exist_ok=True)
    # Trained in a hidden scratch repository beside the real one, then moved in at once.
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".train-") as scratch:
        trained = _task_module(task).train(config, data_dir, Path(scratch), args.download)
        return publish_as(Path(scratch) / task / str(trained.version), models_dir, args.name)


Row = tuple[str, str, int, dict[str, float], float]  # task, model, version, metrics, seconds


def train_side_by_side(
    tasks: list[str], args: argparse.Namespace, jobs: int, models_dir: Path
) -> int:
    """Each task in a process of its own, `jobs` at a time; the summary reads their artifacts."""
    from app.artifacts import read_metadata, resolve_version
    from training.parallel import train_in_parallel

    # The summary reads each task module's HEADLINE, and importing them (TensorFlow) takes ~10 s:
    # done while the tasks train, not after them.
    importing = threading.Thread(target=lambda: [_task_module(t) for t in tasks], daemon=True)
    importing.start()
    results = train_in_parallel(tasks, args, jobs)
    importing.join()
    rows, failed = [], 0
    for task, code, seconds in results:
        if code != 0:
            print(f"error: {task}: training exited with code {code}", file=sys.stderr)
            failed = failed or code
            continue
        metadata = read_metadata(resolve_version(models_dir / task))
        rows.append((task, task, metadata.version, metadata.metrics, seconds))
    print_summary(rows, models_dir)
    return failed


def print_summary(rows: list[Row], models_dir: Path) -> None:
    print(f"\n{'model':<14} {'version':>7} {'seconds':>8}  held-out metrics ({models_dir})")
    for task, name, version, metrics, seconds in rows:
        headline = _task_module(task).HEADLINE
        shown = ", ".join(f"{k} {metrics[k]:.4g}" for k in headline if k in metrics)
        print(f"{name:<14} {version:>7} {seconds:>8.1f}  {shown}")
