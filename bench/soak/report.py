"""The soak report: memory, answers by kind of request, what each bad request got, a verdict."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bench.jobs import Record
from bench.load import percentile
from bench.markdown import table
from bench.openloop import OpenLoopResult
from bench.report import machine
from bench.service import Health
from bench.soak.memory import Memory
from bench.soak.options import SoakOptions as Options
from bench.soak.traffic import BAD, MIX


def _kind(label: str) -> str:
    """ "bad request: invalid JSON" -> "bad request"."""
    return label.split(":", 1)[0]


def _expected(label: str, status: int) -> bool:
    return 400 <= status < 500 if _kind(label) == "bad request" else status == 200


def kinds_table(records: Sequence[Record]) -> str:
    by_kind: dict[str, list[Record]] = {}
    for r in records:
        by_kind.setdefault(_kind(r.label), []).append(r)
    rows = []
    for kind in [*MIX, "all"]:
        group = list(records) if kind == "all" else by_kind.get(kind, [])
        if not group:
            continue
        statuses = [r.answer.status for r in group if r.answer is not None]
        unexpected = sum(
            1 for r in group if r.answer is None or not _expected(r.label, r.answer.status)
        )
        latencies = [r.latency for r in group if r.answer is not None]
        rows.append(
            (
                f"**{kind}**" if kind == "all" else kind,
                f"{len(group):,}",
                f"{statuses.count(200):,}",
                f"{sum(400 <= s < 500 for s in statuses):,}",
                f"{sum(s >= 500 for s in statuses):,}",
                f"{sum(r.answer is None for r in group):,}",
                f"{unexpected:,}",
                f"{percentile(latencies, 0.5) * 1000:,.1f}",
                f"{percentile(latencies, 0.99) * 1000:,.1f}",
            )
        )
    header = ("kind", "requests", "200", "4xx", "5xx", "connection errors / no answer",
              "unexpected", "p50 ms", "p99 ms")  # fmt: skip
    return table(header, rows)


def bad_table(records: Sequence[Record]) -> str:
    """What each kind of bad request got back: status and error type."""
    seen: dict[str, Counter[str]] = {bad.name: Counter() for bad in BAD}
    for r in records:
        if _kind(r.label) == "bad request":
            name = r.label.split(": ", 1)[1]
            answer = f"{r.answer.status} {r.answer.kind}" if r.answer else r.error
            seen[name][answer] += 1
    rows = [
        (name, ", ".join(f"{answer} x{n}" for answer, n in answers.most_common()) or "-")
        for name, answers in seen.items()
    ]
    return table(("bad request", "answers"), rows, "ll")


def report(
    o: Options,
    result: OpenLoopResult,
    memory: Memory,
    after: Health,
    server_statuses: dict[tuple[str, str], float],
    busy: float,
) -> tuple[str, bool]:
    flat, memory_text = memory.section(o.tolerance_mb, o.tolerance_fraction)
    records = result.records
    five = [r for r in records if r.answer is not None and r.answer.status >= 500]
    unexpected = [r for r in records if r.answer is None or not _expected(r.label, r.answer.status)]
    streams = [r for r in records if r.label == "generate, stream" and r.answer is not None]
    unfinished = [
        r for r in streams if r.answer and r.answer.status == 200 and r.answer.note != "done"
    ]
    left = [r for r in records if r.answer is not None and r.answer.note == "disconnected"]
    ok = flat and not five and not unexpected and not unfinished and after.ok
    server = ", ".join(
        f"{endpoint} {status}: {count:,.0f}"
        for (endpoint, status), count in sorted(server_statuses.items())
        if not endpoint.startswith(("/metrics", "/ready", "/health"))
    )
    parts = [
        "## Soak",
        f"{o.minutes:g} min of mixed traffic, open loop at {o.rate:g} requests/s "
        f"({len(records):,} requests, seed {o.seed}); RSS (VmRSS of the service process and "
        f"its children) sampled every {o.sample_every:g} s ({len(memory.samples)} samples, "
        f"`{o.csv.name}`). Mix: "
        + ", ".join(f"{k} {v / sum(MIX.values()):.0%}" for k, v in MIX.items())
        + f". Bad requests rotate through {len(BAD)} kinds: "
        + ", ".join(bad.name for bad in BAD)
        + ".",
        "",
        memory_text,
        "",
        kinds_table(records),
        "",
        bad_table(records),
        "",
        f"- 5xx answers: {len(five)}; answers other than expected (200, or a 4xx for a bad "
        f"request), connection errors and timeouts included: {len(unexpected)}",
        f"- streams: {len(streams):,} read to the end, {len(unfinished)} without `done`; "
        f"{len(left):,} clients left mid-stream on purpose",
        f"- the service's own count (/metrics): {server}",
        f"- afterwards: {after.text()}",
        f"- client: {result.connections_opened:,} connections opened, at most "
        f"{result.peak_busy} busy at once",
        "",
        "### Machine",
        machine("python (bench/openloop.py)", busy),
    ]
    return "\n".join(parts) + "\n", ok
