"""Hot reload under load: versions published and removed while /forecast is busy.

1. `/forecast` at 32 connections for `--seconds` (60) without reloads: the reference.
2. The same, while 10 new versions of the model are published and 5 removed, evenly spread;
   the service polls the repository every second. Counts failed requests and the p99.
3. `--cycles` (50) publish-then-remove cycles, each waited for until the service serves the new
   version: resident memory before and after (a leak would grow with every cycle).

    python -m bench.reload [--models-dir models] [--seconds 60] [--cycles 50]

Works on a scratch copy of the latest forecast version, so models/ is never touched. Writes
bench/results/reload.md.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from app.artifacts import list_versions
from bench.load import LoadResult, pick_generator, run_load
from bench.options import RESULTS, Options, option, parse
from bench.payloads import forecast_bodies
from bench.procs import Server
from bench.service import running_service, write_report


def publish(source: Path, model_dir: Path, version: int) -> None:
    """A copy of `source` as `version`, staged hidden and renamed in, as training publishes."""
    staging = model_dir / f".staging-{version}"
    shutil.copytree(source, staging)
    metadata = json.loads((staging / "metadata.json").read_text())
    (staging / "metadata.json").write_text(json.dumps({**metadata, "version": version}))
    staging.rename(model_dir / str(version))


def serving(server: Server) -> str | None:
    with urllib.request.urlopen(f"{server.url}/models/forecast", timeout=5) as response:
        info = json.load(response)["info"]
    return info["version"] if info else None


def wait_serving(server: Server, version: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while serving(server) != str(version):
        if time.monotonic() > deadline:
            raise RuntimeError(f"version {version} was not served within {timeout:g} s")
        time.sleep(0.05)


def load_while(server: Server, seconds: float, during: threading.Thread | None) -> LoadResult:
    url = f"{server.url}/forecast"
    if during is not None:
        during.start()
    result = run_load(pick_generator("auto"), url, forecast_bodies(), 32, seconds)
    if during is not None:
        during.join()
    return result


def churn(source: Path, model_dir: Path, seconds: float) -> None:
    """10 versions published and 5 removed (the oldest), spread over `seconds`."""
    for step in range(15):
        time.sleep(seconds / 16)
        versions = list_versions(model_dir)
        if step % 3 == 2:
            shutil.rmtree(model_dir / str(versions[0]))
        else:
            publish(source, model_dir, versions[-1] + 1)


def cycles(server: Server, source: Path, model_dir: Path, count: int) -> tuple[int, int]:
    before = server.rss_bytes()
    for _ in range(count):
        versions = list_versions(model_dir)
        publish(source, model_dir, versions[-1] + 1)
        wait_serving(server, versions[-1] + 1)
        shutil.rmtree(model_dir / str(versions[0]))
    time.sleep(2)  # idle worker threads of replaced versions end
    return before, server.rss_bytes()


@dataclass(frozen=True)
class ReloadOptions(Options):
    output: Path = option(RESULTS / "reload.md", "where the markdown report goes")
    seconds: float = option(60.0, "each /forecast run (60)")
    cycles: int = option(50, "publish-then-remove cycles for memory (50)")


def main(argv: list[str] | None = None) -> None:
    args = parse(ReloadOptions, argv, "python -m bench.reload", __doc__)
    source_dir = args.models_dir / "forecast"
    source = source_dir / str(list_versions(source_dir)[-1])
    with tempfile.TemporaryDirectory(prefix="bench-reload-") as scratch:
        model_dir = Path(scratch) / "forecast"
        model_dir.mkdir()
        publish(source, model_dir, 1)
        settings = {"SEQSERVE_TASKS": "forecast", "SEQSERVE_RELOAD_INTERVAL_SECONDS": "1"}
        with running_service(Path(scratch), "reload", settings) as server:
            quiet = load_while(server, args.seconds, None)
            busy = threading.Thread(target=churn, args=(source, model_dir, args.seconds))
            reloading = load_while(server, args.seconds, busy)
            rss = cycles(server, source, model_dir, args.cycles)
    report = render(quiet, reloading, rss, args)
    write_report(report, args.output)


def render(quiet: LoadResult, busy: LoadResult, rss: tuple[int, int], args: ReloadOptions) -> str:
    before, after = (value / 2**20 for value in rss)
    rows = [
        "| run | requests | failed | req/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {r.requests:,} | {r.errors} | {r.rps:,.0f} | {r.p50_ms:.2f} "
            f"| {r.p99_ms:.2f} |"
            for name, r in (("no reloads", quiet), ("10 published, 5 removed", busy))
        ),
    ]
    return "\n".join(
        [
            "## Hot reload under load",
            f"`/forecast`, 32 connections, {args.seconds:g} s per run, repository polled "
            "every second.",
            "",
            *rows,
            "",
            f"Resident memory over {args.cycles} publish-and-remove cycles: {before:.1f} MB "
            f"before, {after:.1f} MB after ({100 * (after / before - 1):+.1f}%).",
            "",
        ]
    )


if __name__ == "__main__":
    main()
