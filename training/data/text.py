"""Text loaders: IMDB reviews (or a user's labelled CSV) and a plain-text corpus."""

from __future__ import annotations

import csv
import lzma
import random
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from training.data.files import IMDB_TARBALL, TINY_SHAKESPEARE, DataError, fingerprint, locate

csv.field_size_limit(1 << 24)  # some reviews are long; the default limit is 128 kB

POSITIVE = {"1", "pos", "positive"}
NEGATIVE = {"0", "neg", "negative"}


@dataclass
class LabelledTexts:
    texts: list[str]
    labels: list[int]  # 1 = positive, 0 = negative


@dataclass
class SentimentData:
    name: str
    train: LabelledTexts
    test: LabelledTexts
    files: dict[str, str]


def _label(path: Path, line: int, cell: str) -> int:
    value = cell.strip().lower()
    if value in POSITIVE:
        return 1
    if value in NEGATIVE:
        return 0
    raise DataError(f"{path}, line {line}: label {cell!r} is not one of 0/1/negative/positive")


def read_labelled_csv(path: Path) -> LabelledTexts:
    """A CSV with a header holding `text` and `label` columns (other columns are ignored)."""
    opener = lzma.open if path.suffix == ".xz" else open
    out = LabelledTexts([], [])
    try:
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            header = next(rows, [])
            if "text" not in header or "label" not in header:
                raise DataError(f"{path}, line 1: header needs 'text' and 'label', got {header}")
            text_at, label_at = header.index("text"), header.index("label")
            for line, cells in enumerate(rows, start=2):
                if len(cells) != len(header):
                    raise DataError(
                        f"{path}, line {line}: {len(cells)} cells, header has {len(header)}"
                    )
                if not cells[text_at].strip():
                    raise DataError(f"{path}, line {line}: empty text")
                out.texts.append(cells[text_at])
                out.labels.append(_label(path, line, cells[label_at]))
    except (UnicodeDecodeError, lzma.LZMAError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read as UTF-8 CSV ({exc})") from exc
    if not out.texts:
        raise DataError(f"{path}: no rows after the header")
    return out


def load_imdb(data_dir: Path, download: bool = False) -> SentimentData:
    """The canonical 25k / 25k split, from `sentiment/imdb_{train,test}.csv.xz` or the tarball."""
    train_path = data_dir / "sentiment/imdb_train.csv.xz"
    test_path = data_dir / "sentiment/imdb_test.csv.xz"
    if train_path.is_file() and test_path.is_file():
        train, test = read_labelled_csv(train_path), read_labelled_csv(test_path)
        return SentimentData("imdb", train, test, fingerprint(train_path, test_path))
    tarball = locate(IMDB_TARBALL, data_dir, download)
    train, test = _read_imdb_tarball(tarball)
    return SentimentData("imdb", train, test, fingerprint(tarball))


_REVIEW = re.compile(r"aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt$")


def _read_imdb_tarball(path: Path) -> tuple[LabelledTexts, LabelledTexts]:
    """The original release: one file per review under aclImdb/{train,test}/{pos,neg}/."""
    splits = {"train": LabelledTexts([], []), "test": LabelledTexts([], [])}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            match = _REVIEW.search(member.name)
            handle = archive.extractfile(member) if match else None
            if match is None or handle is None:
                continue
            split, polarity = match.groups()
            splits[split].texts.append(handle.read().decode("utf-8"))
            splits[split].labels.append(1 if polarity == "pos" else 0)
    return splits["train"], splits["test"]


def load_sentiment_csv(path: Path, test_path: Path | None, seed: int) -> SentimentData:
    """A user's labelled CSV; without a separate test file, a seeded 20% is held out."""
    if not path.is_file():
        raise DataError(f"sentiment file not found: {path}")
    data = read_labelled_csv(path)
    if test_path is not None:
        return SentimentData(
            path.stem, data, read_labelled_csv(test_path), fingerprint(path, test_path)
        )
    order = list(range(len(data.texts)))
    random.Random(seed).shuffle(order)
    cut = int(len(order) * 0.8)
    train, test = _subset(data, order[:cut]), _subset(data, order[cut:])
    return SentimentData(path.stem, train, test, fingerprint(path))


def _subset(data: LabelledTexts, rows: Iterable[int]) -> LabelledTexts:
    rows = list(rows)
    return LabelledTexts([data.texts[i] for i in rows], [data.labels[i] for i in rows])


@dataclass
class Corpus:
    name: str
    text: str
    files: dict[str, str]


def load_corpus(data_dir: Path, data_file: Path | None, download: bool = False) -> Corpus:
    """Tiny Shakespeare by default, or a user's UTF-8 text file."""
    path = data_file if data_file is not None else locate(TINY_SHAKESPEARE, data_dir, download)
    if not path.is_file():
        raise DataError(f"text file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    if len(text) < 1000:
        raise DataError(f"{path}: only {len(text)} characters; need at least 1,000 to train")
    name = "tinyshakespeare" if data_file is None else path.stem
    return Corpus(name, text, fingerprint(path))
