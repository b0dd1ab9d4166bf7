"""What `python -m bench.overload` takes (bench/options.py turns each field into a flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.options import RESULTS, WithLoad, option


@dataclass(frozen=True)
class OverloadOptions(WithLoad):
    output: Path = option(RESULTS / "overload.md", "where the markdown report goes")
    factor: float = option(4.0, "offered load / measured capacity (4)")
    warmup: float = option(2.0, "seconds of load before measuring capacity")
    capacity_seconds: float = option(5.0, "closed-loop capacity run (5)")
    capacity_connections: int = option(32, "closed-loop connections (32)")
    seconds: float = option(10.0, "open-loop run length (10)")
    connections: int = option(512, "open-loop connection pool (512)")
    max_wait: float = option(1.0, "give a request up unsent after (1 s)")
    timeout: float = option(10.0, "give a sent request up after (10 s)")
    queue_rows: list[int] = option(
        factory=list, help="also run /forecast with these SEQSERVE_BATCH_MAX_QUEUE_ROWS values"
    )
    lowered_queue_rows: int = option(
        32, "rerun with this queue limit when a run sheds nothing (0: never)"
    )
    in_flight: list[int] = option(
        factory=list, help="also run /forecast with these SEQSERVE_MAX_IN_FLIGHT values"
    )
    stream_factor: int = option(4, "stream clients / SEQSERVE_MAX_STREAMS")
    stream_seconds: float = option(10.0, "how long the stream clients run (10)")
    stream_tokens: int = option(200, "max_tokens of each stream")
    retry_pause: float = option(0.1, "a stream client's pause after a 503")
    fast_ms: float = option(100.0, "a 503's p99 must be below this")
    bounded_ms: float = option(1000.0, "accepted p99 must be below this")

    @property
    def variants(self) -> list[dict[str, str]]:
        """One /forecast run each: settings over the service's own (the first: none)."""
        return [
            {},
            *({"SEQSERVE_MAX_IN_FLIGHT": str(n)} for n in self.in_flight),
            *({"SEQSERVE_BATCH_MAX_QUEUE_ROWS": str(n)} for n in self.queue_rows),
        ]
