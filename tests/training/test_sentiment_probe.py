"""The short-text probe set (tests/data/sentiment_probe.csv): hand-labelled one-liners with
negation, contrast and intensity, product and restaurant reviews and tweet-length texts.

The probe machinery runs on the tiny model like everything else. The pass-rate target applies
to the real default model, which CI does not train: that test skips unless one is in models/.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from app.artifacts import ONNX_FILE, read_metadata, resolve_version
from app.batching import Batching
from app.config import PROJECT_ROOT
from app.runtime import open_runtime
from app.tasks.sentiment import SentimentPredictor

PROBE_FILE = Path(__file__).parents[1] / "data" / "sentiment_probe.csv"
# The default model must get at least this share of the probe set right (measured: see README).
DEFAULT_MODEL_PASS_RATE = 0.80


def read_probe() -> list[tuple[str, str]]:
    with PROBE_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    labels = {"0": "negative", "1": "positive"}
    return [(row["text"], labels[row["label"]]) for row in rows]


def pass_rate(version_dir: Path) -> float:
    """Share of the probe texts the served model (ONNX runtime) labels as we did."""
    runtime = open_runtime("onnx", version_dir, threads=1)
    model = SentimentPredictor.from_artifact(
        version_dir, read_metadata(version_dir), runtime, Batching()
    )
    probe = read_probe()
    predictions = model.predict([text for text, _ in probe])
    return sum(p.label == want for p, (_, want) in zip(predictions, probe, strict=True)) / len(
        probe
    )


def test_the_probe_set_is_balanced_and_covers_every_kind() -> None:
    with PROBE_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 50
    assert abs(sum(r["label"] == "1" for r in rows) / len(rows) - 0.5) < 0.1
    kinds = {r["kind"] for r in rows}
    assert {"negation", "contrast", "intensity", "product", "tweet"} <= kinds


@pytest.mark.slow
def test_probe_runs_on_the_tiny_model(tiny_models: Path) -> None:
    version_dir = resolve_version(tiny_models / "sentiment")
    rate = pass_rate(version_dir)
    assert 0.0 <= rate <= 1.0
    # Training measured the same set with the in-memory model: serving must agree with it.
    metrics = read_metadata(version_dir).metrics
    assert rate == pytest.approx(metrics["probe_accuracy"], abs=1 / len(read_probe()))
    assert 0.0 <= metrics["baseline_probe_accuracy"] <= 1.0


def _default_model() -> Path | None:
    try:
        version_dir = resolve_version(PROJECT_ROOT / "models" / "sentiment")
    except FileNotFoundError:
        return None
    metadata = read_metadata(version_dir)
    trained_on_imdb = metadata.data.name == "imdb" and metadata.metrics.get("test_texts") == 25_000
    has_probe = "probe_accuracy" in metadata.metrics and (version_dir / ONNX_FILE).is_file()
    return version_dir if trained_on_imdb and has_probe else None


def test_default_model_passes_the_probe_and_beats_the_bag_of_words() -> None:
    version_dir = _default_model()
    if version_dir is None:
        pytest.skip("no IMDB-trained sentiment model in models/: python -m training sentiment")
    rate = pass_rate(version_dir)
    assert rate >= DEFAULT_MODEL_PASS_RATE
    assert rate > read_metadata(version_dir).metrics["baseline_probe_accuracy"]
