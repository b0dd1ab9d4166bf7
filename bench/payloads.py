"""Request bodies: realistic sizes, a few distinct ones per scenario, all seeded.

- forecast: two weeks of hourly values (336) with a daily cycle, trend and noise; horizon 48.
- sentiment: IMDB test reviews of 1,200-1,400 characters (the mean review is ~1,300) when the
  dataset is present, else synthetic English-like text of that length. Reviews with control
  characters (3% of IMDB reviews hold cp1252 leftovers such as U+0096) are skipped: the service
  refuses them.
- generate: one greedy stream of 500 characters.
"""

from __future__ import annotations

import csv
import json
import lzma
import math
import random
import re
from pathlib import Path

SERIES_LENGTH = 336
HORIZON = 48
REVIEW_CHARS = (1200, 1400)
IMDB_TEST = Path("sentiment") / "imdb_test.csv.xz"
# What the service refuses in text (app/tasks/base.py): C0 and C1 controls but tab, CR and LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WORDS = (  # split when used
    "the a film movie story acting actor actress plot scene scenes character characters director "
    "was is were it this that and but or not very really quite too so good great bad awful "
    "boring wonderful beautiful funny sad slow fast long short best worst ever never always "
    "script music camera ending beginning watch watched time people life love hate think felt "
    "like liked enjoyed recommend performance cast dialogue effects budget minutes hours"
)


def forecast_bodies(count: int = 8, seed: int = 0) -> list[bytes]:
    """`count` different /forecast bodies: {"series": [336 values], "horizon": 48}."""
    rng = random.Random(seed)
    bodies = []
    for _ in range(count):
        level, amplitude, trend = rng.uniform(50, 5000), rng.uniform(0.05, 0.4), rng.gauss(0, 0.1)
        series = [
            round(
                level * (1 + amplitude * math.sin(2 * math.pi * t / 24))
                + trend * t
                + rng.gauss(0, 0.02 * level),
                2,
            )
            for t in range(SERIES_LENGTH)
        ]
        bodies.append(_json({"series": series, "horizon": HORIZON}))
    return bodies


def sentiment_bodies(data_dir: Path | None, count: int = 16, seed: int = 0) -> list[bytes]:
    """`count` different /sentiment bodies {"text": ...} of IMDB length."""
    texts = imdb_reviews(data_dir, count) if data_dir else []
    if len(texts) < count:
        rng = random.Random(seed)
        texts += [_synthetic_review(rng) for _ in range(count - len(texts))]
    return [_json({"text": text}) for text in texts]


def sentiment_source(data_dir: Path | None) -> str:
    """Where sentiment_bodies() takes its texts from, for the report."""
    if data_dir and (data_dir / IMDB_TEST).is_file():
        return f"IMDB test reviews of {REVIEW_CHARS[0]}-{REVIEW_CHARS[1]} characters"
    return "synthetic English-like text of ~1,300 characters (IMDB test set not found)"


def generate_body(max_tokens: int = 500, prompt: str = "ROMEO:\n") -> bytes:
    """One greedy streamed generation."""
    body = {"prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True}
    return _json(body)


def imdb_reviews(
    data_dir: Path, count: int, every: int = 1, lengths: tuple[int, int] | None = REVIEW_CHARS
) -> list[str]:
    """Up to `count` IMDB test reviews the service accepts, from every `every`-th row, of
    `lengths` characters when given ([] without the dataset)."""
    path = data_dir / IMDB_TEST
    if not path.is_file():
        return []
    texts: list[str] = []
    with lzma.open(path, "rt", encoding="utf-8", newline="") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            text = row.get("text") or ""
            fits = lengths is None or lengths[0] <= len(text) <= lengths[1]
            if i % every == 0 and fits and not _CONTROL.search(text):
                texts.append(text)
                if len(texts) == count:
                    break
    return texts


def _synthetic_review(rng: random.Random) -> str:
    target = rng.randint(*REVIEW_CHARS)
    sentences: list[str] = []
    length = 0
    while length < target:
        words = rng.choices(_WORDS.split(), k=rng.randint(6, 18))
        sentence = " ".join(words).capitalize() + rng.choice([".", ".", ".", "!", "?"])
        sentences.append(sentence)
        length += len(sentence) + 1
    return " ".join(sentences)


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")
