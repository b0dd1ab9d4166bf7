"""What `python -m bench.soak` takes (bench/options.py turns each field into a flag)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.options import RESULTS, WithData, option


@dataclass(frozen=True)
class SoakOptions(WithData):
    output: Path = option(RESULTS / "soak.md", "where the markdown report goes")
    csv: Path = option(RESULTS / "soak_rss.csv", "where the RSS samples go")
    minutes: float = option(10.0, "how long to send traffic (10)")
    rate: float = option(50.0, "requests per second, all kinds (50)")
    sample_every: float = option(5.0, "seconds between RSS samples (5)")
    seed: int = option(0, "seeds the mix and the bodies")
    tolerance_mb: float = option(5.0, "growth allowed over the run (5 MB)")
    tolerance_fraction: float = option(
        0.05, "... or this fraction of the RSS, whichever is larger (0.05)"
    )
