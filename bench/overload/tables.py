"""The overload report's two tables: one column per /forecast run, and the /generate streams."""

from __future__ import annotations

from collections.abc import Sequence

from bench.jobs import Record
from bench.load import percentile
from bench.markdown import table
from bench.overload.results import (
    ForecastRun,
    StreamRun,
    connect_times,
    is_other,
    is_shed,
    latencies,
)


def ms(values: Sequence[float], fraction: float) -> str:
    value = percentile(values, fraction)
    return "-" if value != value else f"{value * 1000:,.1f}"  # NaN: nothing measured


def retry_after_text(records: Sequence[Record]) -> str:
    shed = [r.answer for r in records if r.answer is not None and is_shed(r.answer)]
    if not shed:
        return "- (no 503)"
    values = sorted({a.retry_after for a in shed if a.retry_after is not None})
    missing = sum(a.retry_after is None for a in shed)
    shown = ", ".join(f"`{v}`" for v in values) or "none"
    return f"{len(shed) - missing:,} of {len(shed):,} (value {shown})"


def statuses_text(delta: dict[tuple[str, str], float]) -> str:
    parts = [f"{endpoint} {status}: {n:,.0f}" for (endpoint, status), n in sorted(delta.items())]
    return ", ".join(parts) or "none"


def calls_text(calls: dict[str, float]) -> str:
    """Mean rows per model call and mean time per call (model and preprocessing)."""
    n = calls.get("calls", 0.0)
    if not n:
        return "-"
    return (
        f"{calls.get('rows', 0.0) / n:,.1f} rows, {1000 * calls.get('compute_s', 0.0) / n:,.1f} "
        f"ms ({n:,.0f} calls)"
    )


def p50_p99(values: Sequence[float]) -> str:
    return f"{ms(values, 0.5)} / {ms(values, 0.99)}"


def forecast_column(r: ForecastRun, max_wait: float) -> dict[str, str]:
    """One /forecast run's column of the table: row name -> value."""
    records, middle = r.result.records, r.result.seconds / 2
    halves = [[x.latency for x in r.served if (x.scheduled >= middle) == h] for h in (0, 1)]
    answers = sum(1 for x in records if x.answer is not None)
    per_answer = f"{1000 * r.server_cpu_s / answers:.2f} ms/answer" if answers else "-"
    per_503 = r.cpu_per_503_ms()
    elapsed = r.result.elapsed
    return {
        "capacity, closed loop (req/s, p99 ms)": (
            f"{r.capacity.rps:,.0f} ({r.capacity.p99_ms:,.0f} ms)"
        ),
        "server CPU at capacity": f"{r.capacity.cpu_ms_per_request or 0:.2f} ms/request",
        "offered, scheduled (req/s)": f"{r.rate:,.0f}",
        "sent to the server (req/s)": r.per_s(sum(x.sent is not None for x in records)),
        "**served, 200 (req/s)**": f"**{r.per_s(len(r.served))}**",
        "**shed, 503 overloaded (req/s)**": f"**{r.per_s(len(r.shed))}**",
        "other HTTP answers (must be 0)": f"{len(r.other):,}",
        "connection errors": f"{sum(x.error == 'connection' for x in records):,}",
        f"unsent: no free connection in {max_wait:g} s": (
            f"{sum(x.error == 'unsent' for x in records):,}"
        ),
        "unanswered: sent, no answer in time": f"{sum(x.error == 'unanswered' for x in records):,}",
        "200 latency p50 / p99 (ms)": p50_p99(latencies(r.served)),
        "200 p99, 1st half / 2nd half (ms)": f"{ms(halves[0], 0.99)} / {ms(halves[1], 0.99)}",
        "200 p99 from scheduled start (ms)": ms([x.from_schedule for x in r.served], 0.99),
        "new connections: connect p50 / p99 (ms)": p50_p99(connect_times(r)),
        "503 latency p50 / p99 (ms)": p50_p99(latencies(r.shed)),
        "Retry-After on 503": retry_after_text(records),
        "GET /health meanwhile, p50 / p99 (ms)": p50_p99(r.probe),
        "service's own count (/metrics)": statuses_text(r.server_delta),
        "model calls at capacity: rows, ms each": calls_text(r.calls_at_capacity),
        "model calls during the run: rows, ms each": calls_text(r.calls),
        "server CPU during the run": f"{r.server_cpu_s / elapsed:.2f} cores, {per_answer}",
        "server CPU per 503 (estimate)": "-" if per_503 is None else f"{per_503:.2f} ms",
        "client: connections opened, peak busy": (
            f"{r.result.connections_opened:,}, {r.result.peak_busy}"
        ),
        "client CPU": f"{r.result.client_cpu_s / elapsed:.2f} cores",
        "RSS before / after (MB)": f"{r.rss_before_mb:,.0f} / {r.after.rss_mb:,.0f}",
        "afterwards": r.after.text(),
    }


def forecast_table(runs: Sequence[ForecastRun], max_wait: float) -> str:
    columns = [forecast_column(r, max_wait) for r in runs]
    rows = [(name, *(column[name] for column in columns)) for name in columns[0]]
    return table(("", *(r.label for r in runs)), rows)


def stream_table(s: StreamRun) -> str:
    accepted = s.accepted()
    shed = [r for r in s.records if is_shed(r.answer)]
    other = [r for r in s.records if is_other(r.answer)]
    errors = [r for r in s.records if r.answer is None]
    finished = [r for r in accepted if r.answer is not None and r.answer.note == "done"]
    burst = [r for r in s.records if r.scheduled == 0.0]
    burst_ok = sum(1 for r in burst if r.answer is not None and r.answer.status == 200)
    first = [r.answer.first_token_s for r in accepted if r.answer and r.answer.first_token_s]
    chars = sum(r.answer.chars for r in accepted if r.answer is not None)
    rows = [
        ("SEQSERVE_MAX_STREAMS", str(s.limit)),
        ("SEQSERVE_MAX_IN_FLIGHT (per model)", "-" if s.in_flight is None else str(s.in_flight)),
        ("clients at once", f"{s.clients} for {s.seconds:g} s, {s.tokens} characters a stream"),
        ("first burst: accepted / shed", f"{burst_ok} / {len(burst) - burst_ok}"),
        ("attempts", f"{len(s.records):,}"),
        ("**accepted (200), finished with `done`**", f"**{len(accepted):,}**, {len(finished):,}"),
        ("**shed (503 overloaded)**", f"**{len(shed):,}** ({len(shed) / s.elapsed:,.0f}/s)"),
        ("other HTTP answers (must be 0)", f"{len(other):,}"),
        ("connection errors / timeouts", f"{len(errors):,}"),
        ("503 latency p50 / p99 (ms)", p50_p99(latencies(shed))),
        ("Retry-After on 503", retry_after_text(s.records)),
        ("accepted: first token p50 / p99 (ms)", p50_p99(first)),
        ("accepted: whole stream p50 / p99 (ms)", p50_p99(latencies(accepted))),
        ("characters streamed", f"{chars:,} ({chars / s.elapsed:,.0f}/s)"),
        ("most accepted streams open at once, as clients saw them", str(s.peak_concurrent())),
        ("engine steps over the limit (service's /metrics)", s.steps_over_limit),
        ("GET /health meanwhile, p50 / p99 (ms)", p50_p99(s.probe)),
        ("service's own count (/metrics)", s.server_statuses),
        ("afterwards", s.after.text() if s.after else "-"),
    ]
    return table(("/generate, stream", ""), rows)
