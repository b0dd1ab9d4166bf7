"""The artifact contract: what `models/<name>/<version>/` holds and how to find it.

Training writes artifacts and serving reads them; both use the schema below, so the contract
lives with the side that serves (training imports this module, never the reverse).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
TASKS: tuple[str, ...] = ("forecast", "sentiment", "generate")
Task = Literal["forecast", "sentiment", "generate"]

METADATA_FILE = "metadata.json"
KERAS_FILE = "model.keras"
ONNX_FILE = "model.onnx"
VOCAB_FILE = "vocab.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForecastPreprocessing(_Strict):
    """A statistical base forecast plus a bounded learned correction (app/preprocessing.py)."""

    kind: Literal["theta_correction"] = "theta_correction"
    window: int = Field(gt=0, description="last values the network reads (left-padded)")
    patch: int = Field(gt=0, description="values per recurrent step; divides window")
    horizon: int = Field(gt=0, description="values the model predicts")
    history: int = Field(gt=0, description="last values the base forecast reads")
    min_length: int = Field(gt=1, description="fewest values a series may have")
    max_season: int = Field(gt=1, description="longest season accepted or inferred")
    correction_bound: float = Field(
        gt=0, description="largest correction to the base, in units of the window's scale"
    )
    min_relative_scale: float = Field(
        gt=0, description="scale floor as a fraction of |level|, so flat windows stay finite"
    )
    corrected_seasons: tuple[int, ...] | None = Field(
        default=None,
        description="seasons applied for which the correction beat the base on validation; "
        "other series get the base alone (None: every series is corrected)",
    )
    route_min_season: int | None = Field(
        default=None,
        gt=1,
        description="series whose applied season is at least this are corrected by the graph's "
        "high-frequency network, the rest by its general one; the context's last column says "
        "which (None: one network, no such column)",
    )

    @property
    def context_size(self) -> int:
        """Base and seasonal-naive forecasts (horizon each), season and length codes, and the
        high-frequency flag when the graph routes."""
        return 2 * self.horizon + 2 + (self.route_min_season is not None)


class IntervalGroup(_Strict):
    """Split-conformal calibration of one group of series (app/forecast_intervals.py)."""

    rows: int = Field(ge=1, description="validation rows the quantiles come from")
    horizon: int = Field(ge=1, description="steps calibrated; later ones are extrapolated")
    errors: tuple[tuple[float, ...], ...] = Field(
        description="[step][probability] quantiles of (actual - forecast) / scale, widening"
    )


class ForecastIntervals(_Strict):
    """What serving needs for prediction intervals and quantiles: per group of series (the
    season requested, or applied when inferred; 0 pools every row), quantiles of the scaled
    validation errors per horizon step. Artifacts without it serve point forecasts only."""

    method: Literal["split_conformal"] = "split_conformal"
    scale: Literal["naive_backtest_blend"] = "naive_backtest_blend"
    probabilities: tuple[float, ...] = Field(min_length=2, description="ascending, in (0, 1)")
    groups: dict[int, IntervalGroup] = Field(description="season -> calibration; 0: pooled")


class SentimentPreprocessing(_Strict):
    kind: Literal["word_ids"] = "word_ids"
    vocab_file: str = VOCAB_FILE
    max_length: int = Field(gt=0)
    pad_id: int = 0
    oov_id: int = 1
    # Keep the last `max_length` tokens and left-pad: a recurrent net's final state then sits
    # right after the last real token, and reviews tend to end with their verdict.
    padding: Literal["pre"] = "pre"
    truncating: Literal["pre"] = "pre"
    labels: tuple[str, str] = ("negative", "positive")
    # The wide (bag of n-grams) input: unigrams and bigrams of the last `ngram_tokens` tokens,
    # hashed into 2 + ngram_buckets ids as app/preprocessing.py says (0 pads, 1 is always there).
    # 0 tokens: a model without that input (artifacts written before it existed).
    ngram_tokens: int = Field(default=0, ge=0)
    ngram_buckets: int = Field(default=1, gt=0)
    ngram_hash: Literal["crc32-pairs"] = "crc32-pairs"

    @property
    def ngram_length(self) -> int:
        """Length of the `ngram_ids` input: the constant id, n unigrams, n - 1 bigrams."""
        return 2 * self.ngram_tokens


class GeneratePreprocessing(_Strict):
    kind: Literal["char_ids"] = "char_ids"
    vocabulary: str = Field(min_length=1, description="index i encodes vocabulary[i]")
    # The character the model is primed with when a prompt is empty (or has no known character).
    start_text: str = "\n"
    cell: Literal["lstm", "gru"]
    layers: int = Field(gt=0)
    units: int = Field(gt=0)

    @property
    def state_count(self) -> int:
        """Recurrent state tensors the step model carries: (h, c) per LSTM layer, h per GRU."""
        return self.layers * (2 if self.cell == "lstm" else 1)


Preprocessing = ForecastPreprocessing | SentimentPreprocessing | GeneratePreprocessing


class DataSource(_Strict):
    name: str
    files: dict[str, str] = Field(description="file name -> sha256 of the data used")


class Metadata(_Strict):
    format_version: int = FORMAT_VERSION
    task: Task
    # The model's name is its directory (models/<name>/); serving fills this in when it loads.
    name: str | None = None
    version: int = Field(gt=0)
    created_at: str
    libraries: dict[str, str]
    data: DataSource
    hyperparameters: dict[str, Any]
    preprocessing: Preprocessing = Field(discriminator="kind")
    metrics: dict[str, float]
    limits: dict[str, int] = Field(default_factory=dict)
    files: dict[str, str] = Field(description="artifact file name -> sha256")
    sample: str | None = None
    training_seconds: float | None = None
    # Share of the training data in each bin of each input statistic (app/drift.py).
    input_profile: dict[str, list[float]] | None = None
    # Forecast models: the calibration of their intervals (None: written before there was one).
    intervals: ForecastIntervals | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_metadata(version_dir: Path) -> Metadata:
    return Metadata.model_validate_json((version_dir / METADATA_FILE).read_text(encoding="utf-8"))


def verify_files(version_dir: Path, metadata: Metadata) -> None:
    """Raise ValueError when an artifact file is missing or differs from what training wrote."""
    for name, expected in metadata.files.items():
        path = version_dir / name
        if not path.is_file():
            raise ValueError(f"{name} is missing")
        if sha256_file(path) != expected:
            raise ValueError(f"{name} does not match the sha256 recorded in {METADATA_FILE}")


def read_vocab(version_dir: Path, spec: SentimentPreprocessing) -> list[str]:
    words = json.loads((version_dir / spec.vocab_file).read_text(encoding="utf-8"))
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{spec.vocab_file} must be a JSON list of strings")
    return words


# A version directory is named by a positive integer in ASCII digits, without leading zeros:
# "01" or an Arabic-Indic one (U+0661) would otherwise be read as version 1 and then not be found.
_VERSION_NAME = re.compile(r"[1-9][0-9]{0,17}")


def list_versions(task_dir: Path) -> list[int]:
    """Published versions of one task, ascending. Hidden (in-progress) directories are skipped."""
    if not task_dir.is_dir():
        return []
    return sorted(int(p.name) for p in task_dir.iterdir() if _is_version_dir(p))


def _is_version_dir(path: Path) -> bool:
    return _VERSION_NAME.fullmatch(path.name) is not None and path.is_dir()


def _misnamed_versions(task_dir: Path) -> list[str]:
    """Directories that look like versions but are not named as one (for the error message)."""
    return sorted(
        p.name
        for p in task_dir.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not _is_version_dir(p)
    )


def resolve_version(task_dir: Path, pinned: int | None = None) -> Path:
    """The directory of the pinned version, or of the highest one when none is pinned."""
    versions = list_versions(task_dir)
    if pinned is not None:
        if pinned not in versions:
            raise FileNotFoundError(f"version {pinned} not found in {task_dir.name}/")
        return task_dir / str(pinned)
    if not versions:
        misnamed = _misnamed_versions(task_dir) if task_dir.is_dir() else []
        hint = (
            f" (ignored {', '.join(misnamed)}: versions are named 1, 2, 3, ...)" if misnamed else ""
        )
        raise FileNotFoundError(f"no trained version in {task_dir.name}/{hint}")
    return task_dir / str(versions[-1])
