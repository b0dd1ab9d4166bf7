"""The overload report: the tables, checks that pass or fail, and notes that say in words what
the numbers imply."""

from __future__ import annotations

from collections.abc import Sequence

from bench.load import percentile
from bench.markdown import table
from bench.overload.options import OverloadOptions as Options
from bench.overload.results import ForecastRun, StreamRun, by_status, is_other, is_shed, latencies
from bench.overload.tables import forecast_table, ms, stream_table
from bench.report import machine


def run_notes(o: Options, runs: Sequence[ForecastRun], s: StreamRun | None) -> list[str]:
    """What the numbers imply, in words, so the report reads on its own."""
    notes = []
    for r in runs:
        unsent = sum(x.error == "unsent" for x in r.result.records)
        answered = [x.latency for x in r.result.records if x.answer is not None]
        if unsent and answered:
            mean = sum(answered) / len(answered)
            notes.append(
                f"{r.label}: {unsent:,} of {len(r.result.records):,} requests never got one of "
                f"the {o.connections} connections within {o.max_wait:g} s, because every one was "
                f"waiting on the service: at the measured mean answer time of {mean * 1000:,.0f} "
                f"ms a pool of {o.connections} carries at most {o.connections / mean:,.0f} req/s "
                f"(Little's law), against {r.rate:,.0f} offered. Answering every request in "
                f"{mean * 1000:,.0f} ms on average, 503s included, is the service's doing, not "
                "the client's."
            )
        per_503, per_200 = r.cpu_per_503_ms(), r.capacity.cpu_ms_per_request
        if per_503 is not None and per_200:
            notes.append(
                f"{r.label}: a 503 cost the service about {per_503:.2f} ms of CPU against "
                f"{per_200:.2f} ms for a 200 at capacity ({per_503 / per_200:.0%}); "
                f"{by_status(r.server_delta, '503') / r.result.elapsed:,.0f} of them a second "
                f"kept the server at {r.server_cpu_s / r.result.elapsed:.2f} cores."
            )
        calls, base = r.calls.get("calls", 0.0), r.calls_at_capacity.get("calls", 0.0)
        if calls and base:
            during = 1000 * r.calls.get("compute_s", 0.0) / calls
            before = 1000 * r.calls_at_capacity.get("compute_s", 0.0) / base
            if during > 3 * before:
                notes.append(
                    f"{r.label}: a model call took {during:,.1f} ms during the run against "
                    f"{before:,.1f} ms at capacity (the service's own batch timing), while a GET "
                    f"/health waited {ms(r.probe, 0.5)} ms (p50) for the event loop. The "
                    "batch thread takes the next batch as soon as a call ends and never waits "
                    "for the loop (app/batching.py): the longer calls are the model sharing the "
                    "CPU with the loop, busy parsing and refusing, not calls held back by it."
                )
    if s is not None and s.in_flight is not None and s.in_flight < s.limit:
        notes.append(
            f"generate: SEQSERVE_MAX_IN_FLIGHT={s.in_flight} per model is below "
            f"SEQSERVE_MAX_STREAMS={s.limit}, and admission counts a stream until its last byte: "
            f"at most {s.in_flight} generations run at once, the stream limit is never reached "
            f"and the 503s come from admission control (most open at once here: "
            f"{s.peak_concurrent()})."
        )
    if s is not None and s.peak_concurrent() > s.limit:
        notes.append(
            f"generate: clients saw up to {s.peak_concurrent()} accepted streams open at once "
            f"against a limit of {s.limit}: the engine frees a stream's slot when it makes the "
            "last token, a moment before that stream's client has read its end."
        )
    return notes


def checks(o: Options, runs: Sequence[ForecastRun], s: StreamRun | None) -> str:
    rows: list[tuple[str, str, str]] = []

    def add(name: str, measured: str, passed: bool) -> None:
        rows.append((name, measured, "pass" if passed else "**FAIL**"))

    for r in runs:
        shed_p99 = percentile(latencies(r.shed), 0.99) * 1000
        served_p99 = percentile(latencies(r.served), 0.99) * 1000
        add(f"{r.label}: sheds load", f"{len(r.shed):,} x 503 overloaded", bool(r.shed))
        add(f"{r.label}: no other HTTP answer", f"{len(r.other):,}", not r.other)
        missing = sum(1 for x in r.shed if x.answer is not None and x.answer.retry_after is None)
        add(f"{r.label}: Retry-After on every 503", f"{missing} without", not missing)
        add(
            f"{r.label}: 503 p99 < {o.fast_ms:g} ms",
            f"{shed_p99:,.1f} ms",
            shed_p99 < o.fast_ms,
        )
        add(
            f"{r.label}: accepted p99 < {o.bounded_ms:g} ms",
            f"{served_p99:,.1f} ms",
            served_p99 < o.bounded_ms,
        )
        add(f"{r.label}: alive and ready afterwards", r.after.text(), r.after.ok)
    if s is not None:
        shed = [r for r in s.records if is_shed(r.answer)]
        other = [r for r in s.records if is_other(r.answer)]
        p99 = percentile(latencies(shed), 0.99) * 1000
        accepted = s.accepted()
        unfinished = [r for r in accepted if r.answer is not None and r.answer.note != "done"]
        add("generate: sheds streams over the limit", f"{len(shed):,} x 503", bool(shed))
        add("generate: no other HTTP answer", f"{len(other):,}", not other)
        add("generate: 503 p99 < " + f"{o.fast_ms:g} ms", f"{p99:,.1f} ms", p99 < o.fast_ms)
        add(
            "generate: every accepted stream ends with `done`",
            f"{len(unfinished)} did not",
            not unfinished,
        )
        assert s.after is not None
        add("generate: alive and ready afterwards", s.after.text(), s.after.ok)
    return table(("check", "result", ""), rows, "lll")


def report(
    o: Options, runs: Sequence[ForecastRun], s: StreamRun | None, busy: float, notes: list[str]
) -> str:
    parts = [
        "## Overload",
        f"`/forecast`: capacity measured closed loop ({o.capacity_connections} connections, "
        f"{o.capacity_seconds:g} s after {o.warmup:g} s warm-up, {o.generator}); then "
        f"**{o.factor:g}x that rate offered open loop** for {o.seconds:g} s (requests start on "
        f"schedule whatever the answers; at most {o.connections} connections; a request that "
        f"finds them all busy for {o.max_wait:g} s is given up unsent; one sent and not "
        f"answered within {o.timeout:g} s is given up unanswered). Bodies: 336 values, horizon "
        "48. Rates are over the run until its last answer; latencies from when a request was "
        "sent. Each column is a fresh service process (`python -m app`).",
        "",
        forecast_table(runs, o.max_wait),
        "",
    ]
    if s is not None:
        parts += [
            f"`/generate` streams: {s.clients} clients ({o.stream_factor}x the stream limit) "
            f"each start a stream, and again as soon as it ended ({o.retry_pause * 1000:g} ms "
            "after a 503, not waiting the Retry-After), for "
            f"{o.stream_seconds:g} s; same service process as the first column.",
            "",
            stream_table(s),
            "",
        ]
    parts += ["### Checks", checks(o, runs, s), ""]
    if notes:
        parts += ["### Notes", *(f"- {note}" for note in notes), ""]
    parts += ["### Machine", machine(o.generator, busy)]
    return "\n".join(parts) + "\n"
