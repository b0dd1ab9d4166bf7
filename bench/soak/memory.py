"""Resident memory while the traffic runs: sampled, and its trend over the second half."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field

from bench.openloop import OpenLoopResult, Record, open_loop
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
