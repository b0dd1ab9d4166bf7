"""`python -m bench.overload`: see bench/overload/__init__.py for what it does."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence

from app.config import Settings
from bench import overload
from bench.markdown import write_report
from bench.options import parse
from bench.overload.options import OverloadOptions
from bench.overload.report import report, run_notes
from bench.overload.results import ForecastRun, StreamRun
from bench.overload.runs import forecast_run, stream_run
from bench.procs import INTERRUPTED
from bench.service import prepare, running_service


def main(argv: Sequence[str] | None = None) -> int:
    o = parse(OverloadOptions, argv, "python -m bench.overload", overload.__doc__)
    busy = prepare(o.models_dir)
    configured = Settings()
    runs: list[ForecastRun] = []
    streams: StreamRun | None = None
    notes: list[str] = []
    todo = list(o.variants)
    try:
        while todo:
            overrides = todo.pop(0)
            label = ", ".join(f"{k}={v}" for k, v in overrides.items()) or "service settings"
            name = f"overload-{len(runs)}" if overrides else "overload"  # its log file
            with running_service(o.models_dir, name, overrides) as server:
                runs.append(forecast_run(o, server, label))
                if not overrides:  # admission control counts a stream until it ends
                    limits = (configured.max_streams, configured.max_in_flight)
                    streams = stream_run(o, server, *limits)
            rows = int(overrides.get("SEQSERVE_BATCH_MAX_QUEUE_ROWS", 0))
            lowered = o.lowered_queue_rows
            if not runs[-1].shed and lowered and rows != lowered:
                notes.append(
                    f"'{label}' shed nothing: the client could not fill the model's queue, so the "
                    f"run was repeated with SEQSERVE_BATCH_MAX_QUEUE_ROWS={lowered}."
                )
                todo.append({**overrides, "SEQSERVE_BATCH_MAX_QUEUE_ROWS": str(lowered)})
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    text = report(o, runs, streams, busy, notes + run_notes(o, runs, streams))
    write_report(text, o.output)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        raise SystemExit(main())
