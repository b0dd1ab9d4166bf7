"""The overload report's two tables: one column per /forecast run, and the /generate streams."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.load import percentile
from bench.openloop import Record
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


def forecast_table(runs: Sequence[ForecastRun], max_wait: float) -> str:
    def row(name: str, get: Callable[[ForecastRun], str]) -> str:
        return f"| {name} | " + " | ".join(get(r) for r in runs) + " |"

    def count(r: ForecastRun, error: str) -> str:
        return f"{r.result.count(lambda x: x.error == error):,}"

    def half(r: ForecastRun, second: bool) -> str:
        middle = r.result.seconds / 2
        return ms([x.latency for x in r.served if (x.scheduled >= middle) == second], 0.99)

    def cpu(r: ForecastRun) -> str:
        answers = sum(1 for x in r.result.records if x.answer is not None)
        per = f"{1000 * r.server_cpu_s / answers:.2f} ms/answer" if answers else "-"
        return f"{r.server_cpu_s / r.result.elapsed:.2f} cores, {per}"

    lines = [
        "| | " + " | ".join(r.label for r in runs) + " |",
        "|---|" + "---:|" * len(runs),
        row(
            "capacity, closed loop (req/s, p99 ms)",
            lambda r: f"{r.capacity.rps:,.0f} ({r.capacity.p99_ms:,.0f} ms)",
        ),
        row(
            "server CPU at capacity",
            lambda r: f"{r.capacity.cpu_ms_per_request or 0:.2f} ms/request",
        ),
        row("offered, scheduled (req/s)", lambda r: f"{r.rate:,.0f}"),
        row(
            "sent to the server (req/s)",
            lambda r: r.per_s(r.result.count(lambda x: x.sent is not None)),
        ),
        row("**served, 200 (req/s)**", lambda r: f"**{r.per_s(len(r.served))}**"),
        row("**shed, 503 overloaded (req/s)**", lambda r: f"**{r.per_s(len(r.shed))}**"),
        row("other HTTP answers (must be 0)", lambda r: f"{len(r.other):,}"),
        row("connection errors", lambda r: count(r, "connection")),
        row(
            f"unsent: no free connection in {max_wait:g} s",
            lambda r: count(r, "unsent"),
        ),
        row("unanswered: sent, no answer in time", lambda r: count(r, "unanswered")),
        row(
            "200 latency p50 / p99 (ms)",
            lambda r: f"{ms(latencies(r.served), 0.5)} / {ms(latencies(r.served), 0.99)}",
        ),
        row("200 p99, 1st half / 2nd half (ms)", lambda r: f"{half(r, False)} / {half(r, True)}"),
        row(
            "200 p99 from scheduled start (ms)",
            lambda r: ms([x.from_schedule for x in r.served], 0.99),
        ),
        row(
            "new connections: connect p50 / p99 (ms)",
            lambda r: f"{ms(connect_times(r), 0.5)} / {ms(connect_times(r), 0.99)}",
        ),
        row(
            "503 latency p50 / p99 (ms)",
            lambda r: f"{ms(latencies(r.shed), 0.5)} / {ms(latencies(r.shed), 0.99)}",
        ),
        row("Retry-After on 503", lambda r: retry_after_text(r.result.records)),
        row(
            "GET /health meanwhile, p50 / p99 (ms)",
            lambda r: f"{ms(r.probe, 0.5)} / {ms(r.probe, 0.99)}",
        ),
        row("service's own count (/metrics)", lambda r: statuses_text(r.server_delta)),
        row("model calls at capacity: rows, ms each", lambda r: calls_text(r.calls_at_capacity)),
        row("model calls during the run: rows, ms each", lambda r: calls_text(r.calls)),
        row("server CPU during the run", cpu),
        row(
            "server CPU per 503 (estimate)",
            lambda r: "-" if (c := r.cpu_per_503_ms()) is None else f"{c:.2f} ms",
        ),
        row(
            "client: connections opened, peak busy",
            lambda r: f"{r.result.connections_opened:,}, {r.result.peak_busy}",
        ),
        row(
            "client CPU",
            lambda r: f"{r.result.client_cpu_s / r.result.elapsed:.2f} cores",
        ),
        row("RSS before / after (MB)", lambda r: f"{r.rss_before_mb:,.0f} / {r.after.rss_mb:,.0f}"),
        row("afterwards", lambda r: r.after.text()),
    ]
    return "\n".join(lines)


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
        (
            "503 latency p50 / p99 (ms)",
            f"{ms(latencies(shed), 0.5)} / {ms(latencies(shed), 0.99)}",
        ),
        ("Retry-After on 503", retry_after_text(s.records)),
        ("accepted: first token p50 / p99 (ms)", f"{ms(first, 0.5)} / {ms(first, 0.99)}"),
        (
            "accepted: whole stream p50 / p99 (ms)",
            f"{ms(latencies(accepted), 0.5)} / {ms(latencies(accepted), 0.99)}",
        ),
        ("characters streamed", f"{chars:,} ({chars / s.elapsed:,.0f}/s)"),
        ("most accepted streams open at once, as clients saw them", str(s.peak_concurrent())),
        ("engine steps over the limit (service's /metrics)", s.steps_over_limit),
        ("GET /health meanwhile, p50 / p99 (ms)", f"{ms(s.probe, 0.5)} / {ms(s.probe, 0.99)}"),
        ("service's own count (/metrics)", s.server_statuses),
        ("afterwards", s.after.text() if s.after else "-"),
    ]
    lines = ["| /generate, stream | |", "|---|---:|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)
