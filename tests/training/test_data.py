"""Dataset loaders: real layouts parse, malformed files fail with file, line and reason."""

from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pytest

from app.artifacts import sha256_file
from training.data.files import M4_HOURLY_TRAIN, DataError, PublicFile, locate
from training.data.series import load_m4_hourly, load_series_csv
from training.data.text import load_corpus, load_imdb, load_sentiment_csv, read_labelled_csv


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def m4_dir(tmp_path: Path, train_rows: list[str], test_rows: list[str]) -> Path:
    write(tmp_path / "forecast/m4_hourly/Hourly-train.csv", "\n".join(train_rows) + "\n")
    write(tmp_path / "forecast/m4_hourly/Hourly-test.csv", "\n".join(test_rows) + "\n")
    return tmp_path


def test_m4_layout_is_split_by_time(tmp_path: Path) -> None:
    data_dir = m4_dir(
        tmp_path,
        ['"V1","V2","V3","V4","V5","V6"', '"H1","1","2","3","4","5"', '"H2","7","8","9","",""'],
        ['"V1","V2","V3"', '"H1","6","7"', '"H2","10","11"'],
    )
    data = load_m4_hourly(data_dir)
    assert data.ids == ["H1", "H2"]
    np.testing.assert_array_equal(data.series[0], [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(data.series[1], [7, 8, 9, 10, 11])
    # validation = the last `horizon` training values, test = the test file's values
    assert (data.train_end, data.val_end) == ([3, 1], [5, 3])
    assert set(data.files) == {"Hourly-train.csv", "Hourly-test.csv"}


@pytest.mark.parametrize(
    ("train_rows", "message"),
    [
        (['"X1","V2"', '"H1","1"'], "line 1: expected an M4 header"),
        (['"V1","V2","V3"', '"H1","1","oops"'], "line 2, column V3: 'oops' is not a number"),
        (['"V1","V2","V3"', '"H1","1","nan"'], "line 2, column V3: 'nan' is not finite"),
        (['"V1","V2"', '"H1",""'], "line 2: series"),
    ],
)
def test_malformed_m4_names_file_line_and_reason(
    tmp_path: Path, train_rows: list[str], message: str
) -> None:
    data_dir = m4_dir(tmp_path, train_rows, ['"V1","V2"', '"H1","1"'])
    with pytest.raises(DataError, match=message) as info:
        load_m4_hourly(data_dir)
    assert "Hourly-train.csv" in str(info.value)


def test_missing_dataset_names_where_it_looked_and_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        locate(M4_HOURLY_TRAIN, tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / M4_HOURLY_TRAIN.relative_path) in message
    assert "SEQSERVE_DATA_DIR" in message and "--download" in message


@pytest.mark.parametrize("header", ["", "value\n"])
def test_single_column_csv(tmp_path: Path, header: str) -> None:
    path = write(tmp_path / "s.csv", header + "\n".join(str(v) for v in range(30)) + "\n")
    data = load_series_csv(path, horizon=5, season=7, min_length=20)
    assert data.season == 7 and len(data.series[0]) == 30
    assert (data.train_end, data.val_end) == ([20], [25])


def test_long_format_csv_sorts_each_series_by_time(tmp_path: Path) -> None:
    rows = ["unique_id,ds,y"]
    rows += [f"b,2024-01-{d:02d},{d}" for d in range(20, 0, -1)]
    rows += [f"a,2024-01-{d:02d},{-d}" for d in range(1, 21)]
    data = load_series_csv(write(tmp_path / "long.csv", "\n".join(rows)), 4, 24, 12)
    assert data.ids == ["b", "a"]
    np.testing.assert_array_equal(data.series[0], np.arange(1, 21))
    assert data.val_end == [16, 16]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("unique_id,ds,y\na,2024-01-01\n", "line 2: expected unique_id,ds,y"),
        ("unique_id,ds,y\na,2024-01-01,x\n", "line 2, column y: 'x' is not a number"),
        ("1\n2\ninf\n", "line 3, column 1: 'inf' is not finite"),
        ("1\n2\n3\n", r"fewer than 20 values"),
    ],
)
def test_malformed_series_csv(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_series_csv(write(tmp_path / "bad.csv", content), 5, 24, 20)


def test_non_utf8_series_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(b"1\n\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_series_csv(path, 1, 1, 1)


def test_labelled_csv_reads_xz_and_label_spellings(tmp_path: Path) -> None:
    path = tmp_path / "imdb_train.csv.xz"
    with lzma.open(path, "wt", encoding="utf-8") as handle:
        handle.write('id,label,text\n1,1,"great, fun"\n2,negative,awful\n3,pos,"so ""good"""\n')
    data = read_labelled_csv(path)
    assert data.texts == ["great, fun", "awful", 'so "good"']
    assert data.labels == [1, 0, 1]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,label\nhi,1\n", "header needs 'text' and 'label'"),
        ("text,label\nhi,maybe\n", "line 2: label 'maybe'"),
        ("text,label\n   ,1\n", "line 2: empty text"),
        ("text,label\nhi,1,extra\n", "line 2: 3 cells, header has 2"),
        ("text,label\n", "no rows after the header"),
    ],
)
def test_malformed_sentiment_csv(tmp_path: Path, content: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_sentiment_csv(write(tmp_path / "bad.csv", content), None, seed=0)


def test_sentiment_csv_holds_out_a_seeded_fifth(tmp_path: Path) -> None:
    rows = "\n".join(f"text {i},{i % 2}" for i in range(50))
    path = write(tmp_path / "s.csv", "text,label\n" + rows + "\n")
    first, again = load_sentiment_csv(path, None, 3), load_sentiment_csv(path, None, 3)
    assert (len(first.train.texts), len(first.test.texts)) == (40, 10)
    assert first.test.texts == again.test.texts
    assert not set(first.train.texts) & set(first.test.texts)


def test_imdb_missing_everywhere_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz"):
        load_imdb(tmp_path)


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"\xff" * 2000, "not UTF-8"), (b"short", "only 5 characters")],
)
def test_bad_corpus(tmp_path: Path, payload: bytes, message: str) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(payload)
    with pytest.raises(DataError, match=message):
        load_corpus(tmp_path, path)


def test_a_failed_download_is_clear_and_leaves_nothing(tmp_path: Path) -> None:
    """No network in tests: an unreachable source (a missing local file URL) stands in for it."""
    missing = PublicFile("x/data.csv", (tmp_path / "nowhere.csv").as_uri(), "0" * 64)
    with pytest.raises(DataError, match="could not download") as info:
        locate(missing, tmp_path / "data", download=True)
    assert str(tmp_path / "data" / "x" / "data.csv") in str(info.value)
    assert list((tmp_path / "data" / "x").iterdir()) == []


def test_a_download_with_the_wrong_checksum_is_not_kept(tmp_path: Path) -> None:
    source = write(tmp_path / "source.csv", "1\n2\n")
    wrong = PublicFile("x/data.csv", source.as_uri(), "0" * 64)
    with pytest.raises(DataError, match="expected 0000"):
        locate(wrong, tmp_path / "data", download=True)
    assert list((tmp_path / "data" / "x").iterdir()) == []
    right = PublicFile("x/data.csv", source.as_uri(), sha256_file(source))
    assert locate(right, tmp_path / "data", download=True).read_text() == "1\n2\n"
