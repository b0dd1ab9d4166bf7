"""`python -m bench.workers [--models-dir DIR]`: what SEQSERVE_WORKERS=2 gives over one worker.

The service with one worker and with two, each started in turn and driven by wrk (one thread,
pinned to one CPU so that it takes the same share from either) at 32 connections on `/forecast`
(the bodies of `make bench`). Rounds alternate the order (1, 2, then 2, 1, ...) so that machine
load hits both alike. Reports requests/s, p50 and p99 latency and the resident memory of the
whole process tree after the load, per round, and the ratios of the medians; asserts nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import statistics
from collections.abc import Iterator
from pathlib import Path

from bench.load import LoadResult, measure
from bench.markdown import table, write_report
from bench.options import RESULTS, WithLoad, option, parse
from bench.payloads import forecast_bodies
from bench.service import auth_headers, check_models, running_service


@dataclasses.dataclass(frozen=True)
class WorkersOptions(WithLoad):
    seconds: float = option(10.0, "seconds of load per run")
    rounds: int = option(2, "runs of each; the order alternates")
    connections: int = option(32, "open connections")
    output: Path = option(RESULTS / "workers.md", "where the markdown report goes")


@contextlib.contextmanager
def pinned_to_last_cpu() -> Iterator[None]:
    """This process (and wrk, which it starts) on one CPU; the servers keep every CPU."""
    everything = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(everything)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, everything)


def one_run(options: WorkersOptions, workers: int) -> tuple[LoadResult, int]:
    """(load result, resident bytes of the service's process tree after it)."""
    overrides = {"SEQSERVE_WORKERS": str(workers), "SEQSERVE_LOG_LEVEL": "warning"}
    with running_service(options.models_dir, f"workers-{workers}", overrides) as server:
        with pinned_to_last_cpu():
            result = measure(
                options.generator,
                server,
                "/forecast",
                forecast_bodies(),
                options.connections,
                options.seconds,
                warmup=2,
                headers=auth_headers(),
            )
        return result, server.rss_bytes()


def report(runs: dict[int, list[tuple[LoadResult, int]]], options: WorkersOptions) -> str:
    rows = [
        (w, i, f"{r.rps:,.0f}", f"{r.p50_ms:.2f}", f"{r.p99_ms:.2f}", r.errors, f"{m / 2**20:.0f}")
        for w, results in runs.items()
        for i, (r, m) in enumerate(results, 1)
    ]
    rps = {w: statistics.median(r.rps for r, _ in results) for w, results in runs.items()}
    memory = {w: statistics.median(m for _, m in results) for w, results in runs.items()}
    lines = [
        f"# SEQSERVE_WORKERS: /forecast at {options.connections} connections, wrk on one CPU",
        "",
        f"{os.cpu_count()} CPUs; {options.rounds} runs of {options.seconds:g} s each, "
        "alternating order.",
        "",
        table(("workers", "run", "req/s", "p50 ms", "p99 ms", "errors", "RSS MB"), rows, "r" * 7),
        "",
        f"Median req/s, 2 workers / 1: **{rps[2] / rps[1]:.2f}x**; "
        f"memory {memory[1] / 2**20:.0f} MB -> {memory[2] / 2**20:.0f} MB "
        f"({memory[2] / memory[1]:.2f}x).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    options = parse(WorkersOptions, argv, "python -m bench.workers", __doc__)
    check_models(options.models_dir)
    runs: dict[int, list[tuple[LoadResult, int]]] = {1: [], 2: []}
    for round_index in range(options.rounds):
        for workers in (1, 2) if round_index % 2 == 0 else (2, 1):
            runs[workers].append(one_run(options, workers))
            load = runs[workers][-1][0]
            print(f"round {round_index + 1}, {workers} worker(s): {load.rps:,.0f} req/s")
    write_report(report(runs, options), options.output)


if __name__ == "__main__":
    main()
