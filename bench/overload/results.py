"""What an overload run found: the /forecast and /generate runs, and how their answers are told
apart (served, shed with 503 `overloaded`, anything else)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench.jobs import Answer, Record
from bench.load import LoadResult
from bench.metrics import delta
from bench.openloop import OpenLoopResult
from bench.service import Health


def is_shed(answer: Answer | None) -> bool:
    return answer is not None and answer.status == 503 and answer.kind == "overloaded"


def is_other(answer: Answer | None) -> bool:
    return answer is not None and answer.status != 200 and not is_shed(answer)


PROBES = ("/health", "/ready", "/metrics")


def service_delta(
    counts: dict[tuple[str, str], float], before: dict[tuple[str, str], float]
) -> dict[tuple[str, str], float]:
    """Answers by (endpoint, status) the service counted between two /metrics scrapes, without
    this tool's own probes. Requests refused before routing are counted as "unmatched"."""
    return {key: n for key, n in delta(counts, before).items() if n and key[0] not in PROBES}


def by_status(delta: dict[tuple[str, str], float], status: str) -> float:
    return sum(n for (_, s), n in delta.items() if s == status)


@dataclass
class ForecastRun:
    label: str  # the settings that differ from the service's own, or "service settings"
    capacity: LoadResult
    rate: float
    result: OpenLoopResult
    server_cpu_s: float  # during the open-loop run
    server_delta: dict[tuple[str, str], float]  # what the service's /metrics counted meanwhile
    rss_before_mb: float
    after: Health
    probe: list[float]  # GET /health answer times during the open-loop run
    calls_at_capacity: dict[str, float]  # model_calls() deltas over the capacity run
    calls: dict[str, float]  # ... and over the open-loop run

    def records(self, predicate: Callable[[Record], bool]) -> list[Record]:
        return [r for r in self.result.records if predicate(r)]

    @property
    def served(self) -> list[Record]:
        return self.records(lambda r: r.answer is not None and r.answer.status == 200)

    @property
    def shed(self) -> list[Record]:
        return self.records(lambda r: is_shed(r.answer))

    @property
    def other(self) -> list[Record]:
        return self.records(lambda r: is_other(r.answer))

    def per_s(self, count: int) -> str:
        return f"{count / self.result.elapsed:,.0f}" if self.result.elapsed else "-"

    def cpu_per_503_ms(self) -> float | None:
        """Server CPU of one 503, estimated: the run's CPU less the 200s at the capacity run's
        CPU per request, over the 503s (both counted by the service itself)."""
        ok, shed = by_status(self.server_delta, "200"), by_status(self.server_delta, "503")
        per_200 = self.capacity.cpu_ms_per_request
        if not shed or per_200 is None:
            return None
        return max(0.0, (1000 * self.server_cpu_s - ok * per_200) / shed)


def connect_times(r: ForecastRun) -> list[float]:
    return [x.connect for x in r.result.records if x.connect is not None]


def latencies(records: Sequence[Record]) -> list[float]:
    return [r.latency for r in records]


@dataclass
class StreamRun:
    limit: int  # SEQSERVE_MAX_STREAMS
    in_flight: int | None  # SEQSERVE_MAX_IN_FLIGHT: admission counts a stream until it ends
    clients: int
    seconds: float
    tokens: int
    records: list[Record] = field(default_factory=list)
    elapsed: float = 0.0
    server_statuses: str = ""
    after: Health | None = None
    probe: list[float] = field(default_factory=list)
    steps_over_limit: str = "-"  # engine steps with more streams than the limit (/metrics)

    def accepted(self) -> list[Record]:
        return [r for r in self.records if r.answer is not None and r.answer.status == 200]

    def peak_concurrent(self) -> int:
        """Most accepted streams open at once, as clients saw them (headers to last byte)."""
        events: list[tuple[float, int]] = []
        for r in self.accepted():
            assert r.sent is not None and r.answer is not None
            events += [(r.sent + r.answer.head_s, 1), (r.done, -1)]
        peak = current = 0
        for _, step in sorted(events):
            current += step
            peak = max(peak, current)
        return peak
