"""Preprocessing shared by training and serving, driven only by an artifact's metadata.

Training encodes its data with these functions and serving encodes requests with the same ones,
so the two agree bit for bit (tests/test_preprocessing.py checks it).
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app import forecast_kernel
from app.artifacts import ForecastPreprocessing, GeneratePreprocessing, SentimentPreprocessing
from app.forecast_base import SeriesList, observed_mask, pad_left

# --- forecast -------------------------------------------------------------------------------

_MIN_SCALE = 1e-12  # below this, values are treated as flat
_CLIP = 100.0  # network inputs beyond this many scales carry no more information


@dataclass
class ForecastInputs:
    """What the network reads, plus what maps its correction back to the series' units."""

    arrays: dict[str, np.ndarray]  # window, observed, context (float32)
    base: np.ndarray  # [n, horizon] statistical base forecast, float64
    scale: np.ndarray  # [n, 1] units per scale step
    seasons: np.ndarray  # [n] seasonal period applied (1: none)


def forecast_inputs(
    series: SeriesList, seasons: np.ndarray, spec: ForecastPreprocessing
) -> ForecastInputs:
    """Network inputs for each series; `seasons[i]` is its period, or 0 to infer it.

    The window is shifted by its mean and divided by its mean absolute one-step change (the
    naive forecast's error, so a unit of correction is comparable across series); the base and
    seasonal-naive forecasts enter the same way as context.
    """
    requested = np.asarray(seasons, dtype=np.int64)
    # Each series' last `history` values as float64, once (requests bring lists of floats).
    kept = [np.asarray(s[-spec.history :], dtype=np.float64) for s in series]
    base, applied = base_forecasts(kept, requested, spec)
    window, lengths = pad_left(kept, spec.window)
    observed = observed_mask(lengths, spec.window)
    count = lengths[:, None]
    level = np.where(observed, window, 0.0).sum(axis=1, keepdims=True) / count
    steps = np.where(observed[:, 1:], np.abs(np.diff(window, axis=1)), 0.0)
    spread = steps.sum(axis=1, keepdims=True) / np.maximum(count - 1, 1)
    scale = np.maximum(np.maximum(spread, spec.min_relative_scale * np.abs(level)), _MIN_SCALE)
    # Seasonal naive: the last applied season repeated (a season is applied only when the
    # series holds three of them, and max_season < window, so the window holds it).
    last = np.arange(spec.horizon) % applied[:, None] - applied[:, None] + spec.window
    naive = np.take_along_axis(window, last, axis=1)

    def scaled(x: np.ndarray) -> np.ndarray:
        return np.clip((x - level) / scale, -_CLIP, _CLIP)

    kept_count = np.array([len(k) for k in kept])  # older values: ignored
    codes = [np.log(applied) / np.log(spec.max_season), np.log(kept_count) / np.log(spec.history)]
    if spec.route_min_season is not None:  # 1: the high-frequency network corrects this series
        codes.append((applied >= spec.route_min_season).astype(np.float64))
    arrays = {
        "window": np.where(observed, scaled(window), 0.0).astype(np.float32),
        "observed": observed.astype(np.float32),
        "context": np.concatenate([scaled(base), scaled(naive), np.stack(codes, 1)], 1).astype(
            np.float32
        ),
    }
    return ForecastInputs(arrays, base, scale, applied)


def base_forecasts(
    series: SeriesList, requested: np.ndarray, spec: ForecastPreprocessing
) -> tuple[np.ndarray, np.ndarray]:
    """([n, horizon] base forecasts, [n] seasons applied) from each series' last `history`
    values, by the compiled kernel (app/forecast_kernel.py), one series at a time."""
    kept = [np.asarray(s[-spec.history :], dtype=np.float64) for s in series]  # no copy if so
    ends = np.cumsum([len(k) for k in kept])
    flat = np.concatenate(kept) if kept else np.zeros(0)
    return forecast_kernel.base_forecasts(flat, ends, requested, spec.max_season, spec.horizon)


def apply_correction(
    inputs: ForecastInputs, correction: np.ndarray, spec: ForecastPreprocessing
) -> np.ndarray:
    """Base plus the network's correction (already bounded by the graph), in series units;
    the base alone for series whose season is not among `corrected_seasons`."""
    step = np.asarray(correction, dtype=np.float64) * inputs.scale
    if spec.corrected_seasons is not None:
        step = np.where(corrected_rows(inputs.seasons, spec)[:, None], step, 0.0)
    return inputs.base + step


def corrected_rows(seasons: np.ndarray, spec: ForecastPreprocessing) -> np.ndarray:
    """[n] bool: which series get the network's correction (all when no gate is set)."""
    if spec.corrected_seasons is None:
        return np.ones(len(seasons), dtype=bool)
    # A broadcast comparison, not np.isin: the same mask, without np.isin's sorting set-up
    # (66 us against 5 us for one series, measured: it was 4% of a request's CPU).
    wanted = np.asarray(spec.corrected_seasons, dtype=np.int64)
    return (seasons[:, None] == wanted[None, :]).any(axis=1)


# --- sentiment ------------------------------------------------------------------------------

_HTML_TAG = re.compile(r"<[^>]{0,100}>")
# Words (any script, with inner apostrophes such as "didn't") and the two punctuation marks that
# carry sentiment in reviews.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; HTML tags (IMDB's `<br />`) count as spaces."""
    return _TOKEN.findall(_HTML_TAG.sub(" ", text).lower())


def vocab_index(vocabulary: Iterable[str], spec: SentimentPreprocessing) -> dict[str, int]:
    """Token -> id. Ids below 2 are reserved for padding (0) and out-of-vocabulary words (1)."""
    first = max(spec.pad_id, spec.oov_id) + 1
    return {word: first + i for i, word in enumerate(vocabulary)}


def encode_text(text: str, index: Mapping[str, int], spec: SentimentPreprocessing) -> np.ndarray:
    return encode_tokens(tokenize(text), index, spec)


def encode_tokens(
    tokens: list[str], index: Mapping[str, int], spec: SentimentPreprocessing
) -> np.ndarray:
    """Fixed-length int32 ids: the last `max_length` tokens, left-padded with `pad_id`."""
    ids = [index.get(token, spec.oov_id) for token in tokens[-spec.max_length :]]
    out = np.full(spec.max_length, spec.pad_id, dtype=np.int32)
    if ids:
        out[-len(ids) :] = ids
    return out


def encode_texts(
    texts: Iterable[str], index: Mapping[str, int], spec: SentimentPreprocessing
) -> np.ndarray:
    rows = [encode_text(text, index, spec) for text in texts]
    if not rows:
        return np.zeros((0, spec.max_length), dtype=np.int32)
    return np.stack(rows)


NGRAM_PAD, NGRAM_ALWAYS = 0, 1  # padding; an id every text has, so no text has zero n-grams


def ngram_ids(tokens: list[str], spec: SentimentPreprocessing) -> np.ndarray:
    """Hashed unigram and bigram ids of the last `ngram_tokens` tokens, right-padded with 0."""
    grams = hashed_ngrams(tokens[-spec.ngram_tokens :] if spec.ngram_tokens else [], spec)
    out = np.full(spec.ngram_length, NGRAM_PAD, dtype=np.int32)
    out[0] = NGRAM_ALWAYS
    out[1 : 1 + len(grams)] = grams
    return out


_BIGRAM_MULTIPLIER = np.uint64(1_000_003)  # a prime: (a, b) and (b, a) hash apart


def hashed_ngrams(tokens: list[str], spec: SentimentPreprocessing) -> np.ndarray:
    """The ids of the unigrams, then of the bigrams, of `tokens` (all of them).

    A token hashes to h = crc32(its UTF-8 bytes), stable across processes and platforms
    (Python's hash() is salted per process); a bigram (a, b) to (h(a) * 1000003 + h(b)) mod 2^32.
    Either lands in 2 + hash % ngram_buckets. Bigrams are combined in numpy, not hashed as text:
    this keeps preprocessing a small part of a request's cost.
    """
    hashes = np.fromiter((_crc32(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    pairs = (hashes[:-1] * _BIGRAM_MULTIPLIER + hashes[1:]) & np.uint64(0xFFFFFFFF)
    grams = np.concatenate([hashes, pairs]) if len(tokens) > 1 else hashes
    return (2 + grams % np.uint64(spec.ngram_buckets)).astype(np.int64)


@functools.lru_cache(maxsize=1 << 18)
def _crc32(token: str) -> int:
    # Cached: the same words come back again and again.
    return zlib.crc32(token.encode())


def sentiment_inputs(
    texts: Sequence[str], index: Mapping[str, int], spec: SentimentPreprocessing
) -> dict[str, np.ndarray]:
    """The model's inputs by name: `token_ids`, plus `ngram_ids` for a model with a wide part."""
    return inputs_from_tokens([tokenize(text) for text in texts], index, spec)


def inputs_from_tokens(
    tokenized: Sequence[list[str]], index: Mapping[str, int], spec: SentimentPreprocessing
) -> dict[str, np.ndarray]:
    inputs = {
        "token_ids": _stack([encode_tokens(t, index, spec) for t in tokenized], spec.max_length)
    }
    if spec.ngram_tokens:
        rows = [ngram_ids(t, spec) for t in tokenized]
        inputs["ngram_ids"] = _stack(rows, spec.ngram_length)
    return inputs


def _stack(rows: list[np.ndarray], width: int) -> np.ndarray:
    return np.stack(rows) if rows else np.zeros((0, width), dtype=np.int32)


# --- generate -------------------------------------------------------------------------------


def char_index(spec: GeneratePreprocessing) -> dict[str, int]:
    return {char: i for i, char in enumerate(spec.vocabulary)}


def encode_chars(text: str, index: Mapping[str, int]) -> np.ndarray:
    """int32 ids of the characters the model knows; unknown characters are skipped."""
    return np.fromiter((index[c] for c in text if c in index), dtype=np.int32)


def decode_ids(ids: Iterable[int], spec: GeneratePreprocessing) -> str:
    return "".join(spec.vocabulary[i] for i in ids)
