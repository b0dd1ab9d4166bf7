"""`python -m bench.soak --minutes 10`: mixed traffic for a while; does resident memory grow?

Starts the real service (`python -m app`) and sends it, open loop at a moderate rate (`--rate`,
50 requests/s by default), a seeded mix of: /forecast, /forecast/batch, /sentiment (one text and
several), /generate (whole and streamed, sampled with per-request seeds), streams whose client
goes away after a few characters, and bad requests from a catalogue (invalid JSON, wrong content
type, out-of-range fields, unknown fields, too large a body, wrong method, unknown path...) that
must each get a 4xx. The service's RSS (VmRSS, with children) is sampled every `--sample-every`
seconds. At the end: start vs end RSS, min and max, a least-squares slope over the second half
(after warm-up) in MB per minute, a verdict, the answers by request kind and status, and that no
5xx came back. Writes bench/results/soak.md and the samples to bench/results/soak_rss.csv.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import payloads
from bench.openloop import Job, OpenLoopResult, Record, open_loop, percentile, post, run, stream
from bench.procs import HOST, Server
from bench.report import cpu_busy, machine
from bench.service import (
    RESULTS,
    auth_headers,
    check_models,
    default_data_dir,
    default_models_dir,
    health_check,
    running_service,
    server_counts,
    stop_on_sigterm,
)


@dataclass(frozen=True)
class Options:
    models_dir: Path
    data_dir: Path | None
    minutes: float
    rate: float
    sample_every: float
    seed: int
    tolerance_mb: float
    tolerance_fraction: float
    output: Path
    csv: Path


def parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("--minutes", type=float, default=10.0, help="how long to send traffic (10)")
    add("--rate", type=float, default=50.0, help="requests per second, all kinds (50)")
    add("--sample-every", type=float, default=5.0, help="seconds between RSS samples (5)")
    add("--seed", type=int, default=0)
    add("--tolerance-mb", type=float, default=5.0, help="growth allowed over the run (5 MB)")
    add(
        "--tolerance-fraction",
        type=float,
        default=0.05,
        help="... or this fraction of the RSS, whichever is larger (0.05)",
    )
    add("--models-dir", type=Path, default=default_models_dir())
    add("--data-dir", type=Path, default=default_data_dir(), help="for IMDB review texts")
    add("--output", type=Path, default=RESULTS / "soak.md")
    add("--csv", type=Path, default=RESULTS / "soak_rss.csv")
    args = parser.parse_args(argv)
    return Options(
        models_dir=args.models_dir.resolve(),
        data_dir=args.data_dir,
        minutes=args.minutes,
        rate=args.rate,
        sample_every=args.sample_every,
        seed=args.seed,
        tolerance_mb=args.tolerance_mb,
        tolerance_fraction=args.tolerance_fraction,
        output=args.output,
        csv=args.csv,
    )


# --- the traffic ----------------------------------------------------------------------------


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


# Requests the service must refuse with a 4xx: (name, method, path, body, content type).
_SERIES = [float(x % 24) for x in range(payloads.SERIES_LENGTH)]
_JSON = "application/json"
BAD: list[tuple[str, str, str, bytes, str]] = [
    ("invalid JSON", "POST", "/forecast", b'{"series": [1, 2,', _JSON),
    ("invalid UTF-8", "POST", "/sentiment", b'{"text": "\xff\xfe"}', _JSON),
    ("wrong content type", "POST", "/forecast", b"series=1,2,3", "text/plain"),
    ("NaN literal", "POST", "/forecast", b'{"series": [1, NaN, 3], "horizon": 1}', _JSON),
    ("horizon 0", "POST", "/forecast", _json({"series": _SERIES, "horizon": 0}), _JSON),
    ("series too short", "POST", "/forecast", _json({"series": [1.0, 2.0]}), _JSON),
    ("unknown field", "POST", "/forecast", _json({"series": _SERIES, "horizn": 3}), _JSON),
    ("string for a number", "POST", "/forecast/batch", _json({"series": [["1", "2"]]}), _JSON),
    ("blank text", "POST", "/sentiment", _json({"text": "   "}), _JSON),
    ("text and texts", "POST", "/sentiment", _json({"text": "a", "texts": ["b"]}), _JSON),
    ("control character", "POST", "/sentiment", _json({"text": "bad\u0000text"}), _JSON),
    ("max_tokens 0", "POST", "/generate", _json({"prompt": "A", "max_tokens": 0}), _JSON),
    ("max_tokens 10^9", "POST", "/generate", _json({"max_tokens": 10**9}), _JSON),
    ("top_p 2", "POST", "/generate", _json({"prompt": "A", "top_p": 2}), _JSON),
    ("negative temperature", "POST", "/generate", _json({"temperature": -1}), _JSON),
    ("too many stops", "POST", "/generate", _json({"stop": ["x"] * 100}), _JSON),
    ("body over 1 MiB", "POST", "/forecast", _json({"series": [1.5] * 300_000}), _JSON),
    ("unknown path", "POST", "/nope", b"{}", _JSON),
    ("wrong method", "GET", "/forecast", b"", _JSON),
]

PROMPTS = ["ROMEO:\n", "First Citizen:\n", "KING HENRY:\nWhat", "To be, or not", ""]

# Kind -> share of the traffic.
MIX: dict[str, float] = {
    "forecast": 28,
    "forecast/batch": 8,
    "sentiment": 18,
    "sentiment, 4 texts": 6,
    "generate": 6,
    "generate, stream": 14,
    "stream, client leaves": 5,
    "bad request": 15,
}


class Traffic:
    """`pick(i)`: what request i is, drawn from MIX with a seeded generator."""

    def __init__(self, data_dir: Path | None, seed: int) -> None:
        self.rng = random.Random(seed)
        self.forecast = payloads.forecast_bodies(16, seed)
        series = [json.loads(b)["series"] for b in self.forecast]
        self.batches = [
            _json({"series": self.rng.sample(series, 8), "horizon": 24}) for _ in range(8)
        ]
        self.texts = [json.loads(b)["text"] for b in payloads.sentiment_bodies(data_dir, 32, seed)]
        self.kinds, self.weights = list(MIX), list(MIX.values())
        self.bad_sent = 0

    def _generate(self, i: int, stream_it: bool, tokens: int) -> bytes:
        body: dict[str, object] = {
            "prompt": self.rng.choice(PROMPTS),
            "max_tokens": tokens,
            "temperature": self.rng.choice([0.0, 0.7, 1.0]),
            "top_k": self.rng.choice([0, 5, 20]),
            "seed": i,
            "stream": stream_it,
        }
        if self.rng.random() < 0.3:
            body["stop"] = ["\n\n"]
        return _json(body)

    def pick(self, i: int) -> tuple[str, Job]:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "forecast":
            return kind, post("/forecast", self.rng.choice(self.forecast))
        if kind == "forecast/batch":
            return kind, post("/forecast/batch", self.rng.choice(self.batches))
        if kind == "sentiment":
            return kind, post("/sentiment", _json({"text": self.rng.choice(self.texts)}))
        if kind == "sentiment, 4 texts":
            return kind, post("/sentiment", _json({"texts": self.rng.sample(self.texts, 4)}))
        if kind == "generate":
            return kind, post("/generate", self._generate(i, False, self.rng.randint(20, 80)))
        if kind == "generate, stream":
            return kind, stream(self._generate(i, True, self.rng.randint(50, 200)))
        if kind == "stream, client leaves":
            body = self._generate(i, True, 400)
            return kind, stream(body, disconnect_after=self.rng.randint(1, 40))
        name, method, path, payload, content_type = BAD[self.bad_sent % len(BAD)]
        self.bad_sent += 1
        return f"{kind}: {name}", post(path, payload, content_type, method)


# --- memory ---------------------------------------------------------------------------------


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
        if len(points) < 2:
            return float("nan")
        n = len(points)
        mean_t = sum(p.t for p in points) / n
        mean_r = sum(p.rss_mb for p in points) / n
        var = sum((p.t - mean_t) ** 2 for p in points)
        cov = sum((p.t - mean_t) * (p.rss_mb - mean_r) for p in points)
        return 60 * cov / var if var else float("nan")


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


# --- report ---------------------------------------------------------------------------------


def _kind(label: str) -> str:
    """ "bad request: invalid JSON" -> "bad request"."""
    return label.split(":", 1)[0]


def _expected(label: str, status: int) -> bool:
    return 400 <= status < 500 if _kind(label) == "bad request" else status == 200


def kinds_table(records: Sequence[Record]) -> str:
    lines = [
        "| kind | requests | 200 | 4xx | 5xx | connection errors / no answer | unexpected "
        "| p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_kind: dict[str, list[Record]] = {}
    for r in records:
        by_kind.setdefault(_kind(r.label), []).append(r)
    for kind in [*MIX, "all"]:
        group = list(records) if kind == "all" else by_kind.get(kind, [])
        if not group:
            continue
        statuses = [r.answer.status for r in group if r.answer is not None]
        unexpected = sum(
            1 for r in group if r.answer is None or not _expected(r.label, r.answer.status)
        )
        latencies = [r.latency for r in group if r.answer is not None]
        label = f"**{kind}**" if kind == "all" else kind
        lines.append(
            f"| {label} | {len(group):,} | {statuses.count(200):,} "
            f"| {sum(400 <= s < 500 for s in statuses):,} | {sum(s >= 500 for s in statuses):,} "
            f"| {sum(r.answer is None for r in group):,} | {unexpected:,} "
            f"| {percentile(latencies, 0.5) * 1000:,.1f} "
            f"| {percentile(latencies, 0.99) * 1000:,.1f} |"
        )
    return "\n".join(lines)


def bad_table(records: Sequence[Record]) -> str:
    """What each kind of bad request got back: status and error type."""
    seen: dict[str, Counter[str]] = {name: Counter() for name, *_ in BAD}
    for r in records:
        if _kind(r.label) == "bad request":
            name = r.label.split(": ", 1)[1]
            answer = f"{r.answer.status} {r.answer.kind}" if r.answer else r.error
            seen[name][answer] += 1
    lines = ["| bad request | answers |", "|---|---|"]
    for name, answers in seen.items():
        shown = ", ".join(f"{answer} x{n}" for answer, n in answers.most_common())
        lines.append(f"| {name} | {shown or '-'} |")
    return "\n".join(lines)


def report(
    o: Options,
    result: OpenLoopResult,
    memory: Memory,
    after: tuple[bool, int, int],
    server_statuses: dict[tuple[str, str], float],
    busy: float,
) -> tuple[str, bool]:
    samples = memory.samples
    start, end = samples[0], samples[-1]
    rss = [s.rss_mb for s in samples]
    second = memory.second_half()
    slope = memory.slope_mb_per_min()
    minutes = end.t / 60
    projected = slope * minutes
    reference = sum(s.rss_mb for s in second) / len(second)
    allowed = max(o.tolerance_mb, o.tolerance_fraction * reference)
    flat = not math.isnan(slope) and projected < allowed
    records = result.records
    five = [r for r in records if r.answer is not None and r.answer.status >= 500]
    unexpected = [r for r in records if r.answer is None or not _expected(r.label, r.answer.status)]
    streams = [r for r in records if r.label == "generate, stream" and r.answer is not None]
    unfinished = [
        r for r in streams if r.answer and r.answer.status == 200 and r.answer.note != "done"
    ]
    left = [r for r in records if r.answer is not None and r.answer.note == "disconnected"]
    alive, health, ready = after
    ok = flat and not five and not unexpected and not unfinished and alive and ready == 200
    verdict = (
        f"**no growth trend**: {slope:+.3f} MB/min over the second half, {projected:+.2f} MB "
        f"projected over the whole {minutes:.1f} min, within the {allowed:.1f} MB allowed "
        f"(max of {o.tolerance_mb:g} MB and {o.tolerance_fraction:.0%} of RSS)"
        if flat
        else f"**growth**: {slope:+.3f} MB/min over the second half, {projected:+.2f} MB "
        f"projected over {minutes:.1f} min, more than the {allowed:.1f} MB allowed"
    )
    server = ", ".join(
        f"{endpoint} {status}: {count:,.0f}"
        for (endpoint, status), count in sorted(server_statuses.items())
        if not endpoint.startswith(("/metrics", "/ready", "/health"))
    )
    first_minute = [s.rss_mb for s in samples if s.t <= 60]
    settings = {k: v for k, v in os.environ.items() if k.startswith("SEQSERVE_")}
    settings.pop("SEQSERVE_API_KEY", None)
    if minutes < 3:
        verdict += " (a run this short is mostly warm-up: use at least a few minutes)"
    parts = [
        "## Soak",
        f"{o.minutes:g} min of mixed traffic, open loop at {o.rate:g} requests/s "
        f"({len(records):,} requests, seed {o.seed}); RSS (VmRSS of the service process and "
        f"its children) sampled every {o.sample_every:g} s ({len(samples)} samples, "
        f"`{o.csv.name}`). Mix: "
        + ", ".join(f"{k} {v / sum(MIX.values()):.0%}" for k, v in MIX.items())
        + f". Bad requests rotate through {len(BAD)} kinds: "
        + ", ".join(name for name, *_ in BAD)
        + ".",
        "",
        "| memory | MB |",
        "|---|---:|",
        f"| RSS at start (ready, before traffic) | {start.rss_mb:,.1f} |",
        f"| RSS after the first minute (warm-up) | {first_minute[-1]:,.1f} |",
        f"| RSS at the end | {end.rss_mb:,.1f} |",
        f"| min / max | {min(rss):,.1f} / {max(rss):,.1f} |",
        f"| second half: mean, min / max | {reference:,.1f}, "
        f"{min(s.rss_mb for s in second):,.1f} / {max(s.rss_mb for s in second):,.1f} |",
        f"| least-squares slope, second half | {slope:+.3f} MB/min |",
        "",
        f"Verdict: {verdict}.",
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
        f"- afterwards: process {'alive' if alive else '**dead**'}, /health {health}, "
        f"/ready {ready}",
        f"- client: {result.connections_opened:,} connections opened, at most "
        f"{result.peak_busy} busy at once",
        "",
        "### Machine",
        machine("python (bench/openloop.py)", busy, settings),
    ]
    return "\n".join(parts) + "\n", ok


def write_csv(path: Path, samples: Sequence[Sample]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["seconds", "rss_mb", "answered"])
        for s in samples:
            writer.writerow([f"{s.t:.1f}", f"{s.rss_mb:.2f}", s.answered])


def main(argv: Sequence[str] | None = None) -> int:
    o = parse(argv)
    check_models(o.models_dir)
    stop_on_sigterm()
    busy = cpu_busy()
    print(f"other work keeps the CPUs {busy:.0%} busy; load average {os.getloadavg()[0]:.2f}")
    traffic = Traffic(o.data_dir, o.seed)
    try:
        with running_service(o.models_dir, "soak") as server:
            ready = server.ready_seconds or 0.0
            print(f"service ready in {ready:.2f} s; {o.minutes:g} min at {o.rate:g} req/s")
            result, memory = run(soak(o, server, traffic))
            after = health_check(server)
            counts = server_counts(server)
    except KeyboardInterrupt:
        print("\ninterrupted: every server started has been stopped", file=sys.stderr)
        return 130
    text, ok = report(o, result, memory, after, counts, busy)
    print("\n" + text)
    write_csv(o.csv, memory.samples)
    o.output.parent.mkdir(parents=True, exist_ok=True)
    o.output.write_text(text, encoding="utf-8")
    print(f"written to {o.output} and {o.csv}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
