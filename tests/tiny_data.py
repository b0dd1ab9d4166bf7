"""Tiny datasets written by the `tiny_data` fixture, so no test reads ../shared/data or the
network: three hourly-looking series, labelled one-line reviews and a short play."""

from __future__ import annotations

import math
import random
from pathlib import Path

POSITIVE_WORDS = ["great", "wonderful", "moving", "superb", "loved", "brilliant"]
NEGATIVE_WORDS = ["awful", "boring", "dull", "terrible", "hated", "waste"]
FILLER = ["the", "film", "plot", "actors", "was", "and", "a", "movie", "story", "it"]


def series_csv(path: Path) -> Path:
    """Three hourly-looking series in long format (unique_id,ds,y), 244 values each."""
    rng = random.Random(0)
    rows = ["unique_id,ds,y"]
    for sid, level in (("a", 10.0), ("b", 500.0), ("c", -3.0)):
        for t in range(244):
            y = level + 5 * math.sin(2 * math.pi * t / 24) + rng.gauss(0, 0.5)
            rows.append(f"{sid},{t:05d},{y:.4f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def sentiment_csv(path: Path) -> Path:
    rng = random.Random(0)
    rows = ["text,label"]
    for i in range(240):
        label = i % 2
        words = rng.sample(FILLER, 6) + rng.sample(POSITIVE_WORDS if label else NEGATIVE_WORDS, 2)
        rng.shuffle(words)
        rows.append(f'"{" ".join(words)}{"!" if label else "..."}",{label}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def corpus(path: Path) -> Path:
    lines = [
        "ROMEO:\nBut soft, what light through yonder window breaks?\n\n",
        "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?\n\n",
    ]
    path.write_text("".join(lines) * 60, encoding="utf-8")
    return path
