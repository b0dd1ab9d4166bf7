"""The report: one markdown table, generation and start-up lines, the machine; targets: targets.py.

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
