"""`python -m bench.soak`: see bench/soak/__init__.py for what it does."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bench import soak
from bench.client import run
from bench.markdown import write_report
from bench.metrics import server_counts
from bench.options import parse
from bench.procs import INTERRUPTED
from bench.service import health_check, prepare, running_service
from bench.soak.memory import soak as send_traffic
from bench.soak.options import SoakOptions
from bench.soak.report import report
from bench.soak.traffic import Traffic


def main(argv: Sequence[str] | None = None) -> int:
    o = parse(SoakOptions, argv, "python -m bench.soak", soak.__doc__)
    busy = prepare(o.models_dir)
    traffic = Traffic(o.data_dir, o.seed)
    try:
        with running_service(o.models_dir, "soak") as server:
            ready = server.ready_seconds or 0.0
            print(f"service ready in {ready:.2f} s; {o.minutes:g} min at {o.rate:g} req/s")
            result, memory = run(send_traffic(o, server, traffic))
            after = health_check(server)
            counts = server_counts(server)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    text, ok = report(o, result, memory, after, counts, busy)
    memory.write_csv(o.csv)
    write_report(text, o.output)
    print(f"RSS samples written to {o.csv}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
