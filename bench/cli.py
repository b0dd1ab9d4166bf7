"""`python -m bench`: start the servers, load them, and print and save one report.

Order: the hello-world ceiling, the plain FastAPI + ONNX Runtime baseline and the real service,
up together, their load tests alternating (ceiling, service, baseline, at 32 connections and at
1); the service's /sentiment, its generation benchmark, then its memory. Servers are loaded one
at a time, and every process started is stopped on the way out, also on Ctrl-C or
SIGTERM or an error.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench.markdown import write_report
from bench.options import RESULTS, WithData, WithLoad, option, parse
from bench.procs import INTERRUPTED
from bench.scenarios import Bench
from bench.service import prepare


@dataclass(frozen=True)
class BenchOptions(WithLoad, WithData):
    output: Path = option(RESULTS / "latest.md", "where the markdown report goes")
    duration: float = option(10.0, "seconds per scenario")
    warmup: float = option(2.0, "seconds of load before each")
    quick: bool = option(False, "3 s per scenario, 1 s warm-up")
    connections: int = option(32, "for the concurrent runs")
    no_baseline: bool = option(False, "skip the FastAPI + ONNX Runtime baseline")
    streams: int = option(8, "concurrent generation streams")
    max_tokens: int = option(500, "characters per stream")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(BenchOptions, argv, "python -m bench", __doc__)
    if options.quick:
        options = replace(options, duration=3.0, warmup=1.0)
    busy = prepare(options.models_dir)
    bench = Bench(options)
    try:
        bench.run_ceiling_and_service()
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except Exception as exc:  # servers are stopped by now; say what failed, briefly
        print(f"\nbenchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    text = bench.report(busy)
    write_report(text, options.output)
    return 0
