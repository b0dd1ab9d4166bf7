"""Named presets: overrides of each task's config defaults (the dataclasses hold `default`)."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Seconds per task: for tests and smoke runs. Metrics mean nothing here.
    "tiny": {
        "forecast": {
            "window": 48,
            "units": 8,
            "origins_per_series": 4,
            "high_origins": 4,
            "high_layers": 1,
            "high_units": 8,
            "epochs": 2,
            "statistical_baseline": False,  # statsforecast's compilation alone takes seconds
        },
        "sentiment": {
            "vocab_size": 500,
            "max_length": 32,
            "embedding_dim": 8,
            "units": 8,
            "ngram_tokens": 32,
            "ngram_buckets": 4096,
            "epochs": 1,
        },
        "generate": {
            "units": 16,
            "layers": 1,
            "embedding_dim": 8,
            "seq_length": 32,
            "epochs": 1,
            "sample_length": 20,
        },
    },
    # About three minutes per task on a 2-core CPU: the dataclass defaults.
    "default": {"forecast": {}, "sentiment": {}, "generate": {}},
    # The best quality we reach on a CPU, in tens of minutes per task.
    "full": {
        "forecast": {
            "units": 128,
            "origins_per_series": 48,
            "epochs": 30,
            "patience": 6,
        },
        "sentiment": {
            "bidirectional": True,
            "units": 128,
            "max_length": 400,
            "ngram_tokens": 1000,
            "spans_per_text": 2,
            "epochs": 6,
            "patience": 2,
        },
        "generate": {
            "units": 384,
            "dropout": 0.1,
            "epochs": 12,
        },
    },
}
