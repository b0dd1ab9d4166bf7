"""The report: one markdown table, generation and start-up lines, the issue's targets, the machine.

Everything here is pure formatting of measured numbers, so the report printed to the terminal and
the one written to bench/results/latest.md are the same text.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.load import LoadResult
from bench.machine import (
    cpu_model,
    generator_version,
    library_versions,
    service_settings,
    usable_cpus,
)
from bench.streams import GenerationResult


@dataclass(frozen=True)
class Row:
    scenario: str
    result: LoadResult
    ceiling: LoadResult | None  # the ceiling at the same connection count


@dataclass(frozen=True)
class StartUp:
    service_ready_s: float
    ceiling_ready_s: float | None
    service_rss_bytes: int


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    passed: bool | None  # None: not measured in this run


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | ratio to ceiling | server CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        r = row.result
        ratio = _ratio(r.rps / row.ceiling.rps) if row.ceiling and row.ceiling.rps else "-"
        cpu = r.cpu_ms_per_request
        lines.append(
            f"| {row.scenario} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {ratio} "
            f"| {'-' if cpu is None else f'{cpu:.3f}'} | {r.errors} |"
        )
    return "\n".join(lines)


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3f}x"  # the baseline is far below


def generation_lines(result: GenerationResult | None, max_tokens: int) -> str:
    if result is None:
        return "- generation: not measured"
    return (
        f"- generation, 1 greedy stream of {max_tokens} characters: "
        f"{result.single_chars_per_s:,.0f} chars/s, first token "
        f"{result.single_first_token_ms:.1f} ms (median of 3)\n"
        f"- generation, {result.concurrent} concurrent streams: "
        f"{result.concurrent_chars_per_s:,.0f} chars/s together = {result.ratio:.2f}x one stream, "
        f"slowest first token {result.concurrent_first_token_ms:.1f} ms"
    )


def startup_lines(startup: StartUp | None) -> str:
    if startup is None:
        return "- start-up: not measured"
    ceiling = (
        f" (the hello-world ceiling server: {startup.ceiling_ready_s:.2f} s)"
        if startup.ceiling_ready_s is not None
        else ""
    )
    return (
        f"- start-up: process start to `/ready` 200 in {startup.service_ready_s:.2f} s{ceiling}\n"
        f"- memory: {startup.service_rss_bytes / 2**20:,.0f} MB resident (VmRSS, with children) "
        "with all models loaded, after the load tests"
    )


def targets(
    forecast32: Row | None,
    forecast1: Row | None,
    sentiment32: Row | None,
    generation: GenerationResult | None,
    startup: StartUp | None,
) -> list[Target]:
    """The issue's targets, each with what was measured and whether it passed."""
    out: list[Target] = []

    def ratio(row: Row | None, minimum: float, name: str) -> None:
        if row is None or row.ceiling is None or not row.ceiling.rps:
            out.append(Target(name, "not measured", None))
            return
        value = row.result.rps / row.ceiling.rps
        out.append(Target(name, f"{value:.2f}x", value >= minimum))

    ratio(forecast32, 0.6, "/forecast, 32 conns: >= 0.6x ceiling")
    if forecast32 is None:
        out.append(Target("/forecast, 32 conns: p99 <= 25 ms", "not measured", None))
    else:
        p99 = forecast32.result.p99_ms
        out.append(Target("/forecast, 32 conns: p99 <= 25 ms", f"{p99:.1f} ms", p99 <= 25))
    if forecast1 is None or forecast1.ceiling is None:
        out.append(Target("/forecast, 1 conn: p50 <= ceiling p50 + 1 ms", "not measured", None))
    else:
        extra = forecast1.result.p50_ms - forecast1.ceiling.p50_ms
        out.append(
            Target("/forecast, 1 conn: p50 <= ceiling p50 + 1 ms", f"+{extra:.2f} ms", extra <= 1)
        )
    ratio(sentiment32, 0.3, "/sentiment, 32 conns: >= 0.3x ceiling")
    if generation is None:
        for name in (
            "generate: >= 2,000 chars/s",
            "generate: 8 streams >= 4x one",
            "generate: first token <= 20 ms",
        ):
            out.append(Target(name, "not measured", None))
    else:
        g = generation
        out += [
            Target(
                "generate, 1 stream: >= 2,000 chars/s",
                f"{g.single_chars_per_s:,.0f} chars/s",
                g.single_chars_per_s >= 2000,
            ),
            Target(f"generate, {g.concurrent} streams: >= 4x one", f"{g.ratio:.2f}x", g.ratio >= 4),
            Target(
                "generate: first token <= 20 ms",
                f"{g.single_first_token_ms:.1f} ms",
                g.single_first_token_ms <= 20,
            ),
        ]
    if startup is None:
        out.append(Target("start to ready <= 3 s", "not measured", None))
        out.append(Target("RSS <= 400 MB", "not measured", None))
    else:
        ready, rss_mb = startup.service_ready_s, startup.service_rss_bytes / 2**20
        out.append(Target("start to ready <= 3 s", f"{ready:.2f} s", ready <= 3))
        out.append(Target("RSS <= 400 MB", f"{rss_mb:,.0f} MB", rss_mb <= 400))
    return out


def speed_targets(
    forecast32: Row | None, forecast1: Row | None, baseline1: Row | None, sentiment32: Row | None
) -> list[Target]:
    """Issue 15's targets: near the ceiling at 32 connections, and at 1 connection no slower
    than the plain FastAPI + ONNX Runtime handler (bench/servers/baseline.py)."""
    out: list[Target] = []
    for row, minimum, name in (
        (forecast32, 0.85, "/forecast, 32 conns: >= 0.85x ceiling"),
        (sentiment32, 0.5, "/sentiment, 32 conns: >= 0.5x ceiling"),
    ):
        if row is None or row.ceiling is None or not row.ceiling.rps:
            out.append(Target(name, "not measured", None))
        else:
            value = row.result.rps / row.ceiling.rps
            out.append(Target(name, f"{value:.2f}x", value >= minimum))
    name = "/forecast, 32 conns: p99 <= 1.3x ceiling's p99"
    if forecast32 is None or forecast32.ceiling is None or not forecast32.ceiling.p99_ms:
        out.append(Target(name, "not measured", None))
    else:
        value = forecast32.result.p99_ms / forecast32.ceiling.p99_ms
        out.append(Target(name, f"{value:.2f}x", value <= 1.3))
    name = "/forecast, 1 conn: p50 <= baseline's p50"
    if forecast1 is None or baseline1 is None or not baseline1.result.p50_ms:
        out.append(Target(name, "not measured", None))
    else:
        value = forecast1.result.p50_ms / baseline1.result.p50_ms
        out.append(Target(name, f"{value:.2f}x", value <= 1))
    return out


def target_lines(results: Sequence[Target]) -> str:
    lines = ["| target | measured | |", "|---|---:|---|"]
    verdicts = {True: "pass", False: "**FAIL**", None: "-"}
    lines += [f"| {t.name} | {t.measured} | {verdicts[t.passed]} |" for t in results]
    return "\n".join(lines)


def machine(load_generator: str, busy_before: float) -> str:
    """CPU, cores, versions, and how busy the machine was (other work skews every number)."""
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    overrides = ", ".join(f"{k}={v}" for k, v in sorted(service_settings().items())) or "none"
    return "\n".join(
        [
            f"- CPU: {cpu_model()}, {usable_cpus()} cores usable (of {os.cpu_count()})",
            f"- Python {platform.python_version()}, {library_versions()}",
            f"- load generator: {generator_version(load_generator)}; load average now "
            f"(1/5/15 min): {load}; CPU busy with other work just before the run: "
            f"{busy_before:.0%} of all cores",
            f"- service settings from the environment: {overrides}",
            f"- date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
        ]
    )
