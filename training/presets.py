"""Named presets: overrides of each task's config defaults (the dataclasses hold `default`)."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # Seconds per task: for tests and smoke runs. Metrics mean nothing here.
    "tiny": {
        "forecast": {
            "window": 48,
            "units": 8,
            "layers": 1,
            "max_train_windows": 2_000,
            "epochs": 2,
            "time_budget": 20.0,
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
        "forecast": {"units": 128, "max_train_windows": 400_000, "time_budget": 1800.0},
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
