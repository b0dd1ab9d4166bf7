"""The issues' speed targets, each checked against what `python -m bench` measured."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.report import Row, StartUp
from bench.streams import GenerationResult


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    passed: bool | None  # None: not measured in this run


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
