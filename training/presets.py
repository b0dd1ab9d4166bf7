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
            "epochs": 2,
            "statistical_baseline": False,  # statsforecast's compilation alone takes seconds
        },
        "sentiment": {
            "vocab_size": 500,
            "max_length": 32,
            "embedding_dim": 8,
            "units": 8,
            "epochs": 1,
            "time_budget": 20.0,
        },
        "generate": {
            "units": 16,
            "layers": 1,
            "embedding_dim": 8,
            "seq_length": 32,
            "epochs": 1,
            "time_budget": 20.0,
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
            "epochs": 10,
            "patience": 2,
            "time_budget": 2400.0,
        },
        "generate": {
            "cell": "lstm",
            "units": 512,
            "dropout": 0.2,
            "epochs": 60,
            "patience": 4,
            "time_budget": 3600.0,
        },
    },
}
