"""Resident memory while the traffic runs: sampled, its trend over the second half, its table."""

from __future__ import annotations

import asyncio
import csv
import math
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.jobs import Record
from bench.markdown import table
from bench.openloop import OpenLoopResult, open_loop
from bench.procs import HOST, Server
from bench.service import auth_headers
from bench.soak.options import SoakOptions as Options
from bench.soak.traffic import Traffic


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since traffic started
    rss_mb: float
    answered: int  # requests answered so far


@dataclass
class Memory:
    samples: list[Sample] = field(default_factory=list)

    def second_half(self) -> list[Sample]:
        end = self.samples[-1].t
        return [s for s in self.samples if s.t >= end / 2]

    def slope_mb_per_min(self) -> float:
        """Least-squares slope of RSS over time in the second half of the run."""
        points = self.second_half()
        try:
            fit = statistics.linear_regression([p.t for p in points], [p.rss_mb for p in points])
        except statistics.StatisticsError:  # fewer than two samples, or all at one time
            return float("nan")
        return 60 * fit.slope

    def section(self, tolerance_mb: float, tolerance_fraction: float) -> tuple[bool, str]:
        """(no growth trend, the report's memory table and verdict): the slope over the second
        half, projected over the whole run, must stay within the larger tolerance."""
        samples, second = self.samples, self.second_half()
        rss = [s.rss_mb for s in samples]
        slope, minutes = self.slope_mb_per_min(), samples[-1].t / 60
        projected = slope * minutes
        reference = statistics.mean(s.rss_mb for s in second)
        allowed = max(tolerance_mb, tolerance_fraction * reference)
        flat = not math.isnan(slope) and projected < allowed
        trend = f"{slope:+.3f} MB/min over the second half, {projected:+.2f} MB projected over"
        verdict = (
            f"**no growth trend**: {trend} the whole {minutes:.1f} min, within the {allowed:.1f} "
            f"MB allowed (max of {tolerance_mb:g} MB and {tolerance_fraction:.0%} of RSS)"
            if flat
            else f"**growth**: {trend} {minutes:.1f} min, more than the {allowed:.1f} MB allowed"
        )
        if minutes < 3:
            verdict += " (a run this short is mostly warm-up: use at least a few minutes)"
        first_minute = [s.rss_mb for s in samples if s.t <= 60]
        second_rss = [s.rss_mb for s in second]
        rows = [
            ("RSS at start (ready, before traffic)", f"{rss[0]:,.1f}"),
            ("RSS after the first minute (warm-up)", f"{first_minute[-1]:,.1f}"),
            ("RSS at the end", f"{rss[-1]:,.1f}"),
            ("min / max", f"{min(rss):,.1f} / {max(rss):,.1f}"),
            (
                "second half: mean, min / max",
                f"{reference:,.1f}, {min(second_rss):,.1f} / {max(second_rss):,.1f}",
            ),
            ("least-squares slope, second half", f"{slope:+.3f} MB/min"),
        ]
        return flat, f"{table(('memory', 'MB'), rows)}\n\nVerdict: {verdict}."

    def write_csv(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["seconds", "rss_mb", "answered"])
            for s in self.samples:
                writer.writerow([f"{s.t:.1f}", f"{s.rss_mb:.2f}", s.answered])


async def _sample(server: Server, memory: Memory, every: float, records: list[Record]) -> None:
    """Append an RSS sample every `every` seconds; print progress every minute."""
    start = time.perf_counter()
    last_print = 0.0
    while True:
        t = time.perf_counter() - start
        sample = Sample(t, server.rss_bytes() / 2**20, len(records))
        memory.samples.append(sample)
        if t - last_print >= 60:
            last_print = t
            statuses = Counter(r.answer.status if r.answer else r.error for r in list(records))
            print(
                f"  {t / 60:4.1f} min: RSS {sample.rss_mb:,.1f} MB, {sample.answered:,} answered "
                f"{dict(sorted(statuses.items(), key=str))}",
                flush=True,
            )
        await asyncio.sleep(every - (time.perf_counter() - start - t))


async def soak(o: Options, server: Server, traffic: Traffic) -> tuple[OpenLoopResult, Memory]:
    memory = Memory()
    records: list[Record] = []
    load = open_loop(
        HOST,
        server.port,
        o.rate,
        o.minutes * 60,
        traffic.pick,
        connections=256,
        timeout=60.0,
        headers=auth_headers(),
        records=records,  # the sampler counts them as they come
    )
    sampler = asyncio.create_task(_sample(server, memory, o.sample_every, records))
    try:
        result = await load
    finally:
        sampler.cancel()
    last = memory.samples[-1].t if memory.samples else 0.0
    memory.samples.append(Sample(last + 0.001, server.rss_bytes() / 2**20, len(result.records)))
    return result, memory
