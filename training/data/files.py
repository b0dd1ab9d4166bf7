"""Finding dataset files: the configured data directory first, the original public source second."""

from __future__ import annotations

import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from app.artifacts import sha256_file


class DataError(Exception):
    """A dataset is missing or malformed; the message says which file, where and what to do."""


@dataclass(frozen=True)
class PublicFile:
    relative_path: str  # where it lives under the data directory
    url: str  # the original public copy
    sha256: str


M4_HOURLY_TRAIN = PublicFile(
    "forecast/m4_hourly/Hourly-train.csv",
    "https://raw.githubusercontent.com/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset/Train/Hourly-train.csv",
    "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f",
)
M4_HOURLY_TEST = PublicFile(
    "forecast/m4_hourly/Hourly-test.csv",
    "https://raw.githubusercontent.com/Mcompetitions/M4-methods/6c1067e5a57161249b17289a565178dc7a3fb3ca/Dataset/Test/Hourly-test.csv",
    "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42",
)
ETTH1 = PublicFile(
    "forecast/ETTh1.csv",
    "https://raw.githubusercontent.com/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/ETTh1.csv",
    "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
)
TINY_SHAKESPEARE = PublicFile(
    "textgen/tinyshakespeare.txt",
    "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
)
# The original IMDB release is a tarball of one file per review; see data/text.py.
IMDB_TARBALL = PublicFile(
    "sentiment/aclImdb_v1.tar.gz",
    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
)


def locate(file: PublicFile, data_dir: Path, download: bool) -> Path:
    """The local path of `file`, downloading it into `data_dir` first when asked to."""
    path = data_dir / file.relative_path
    if path.is_file():
        return path
    if not download:
        raise DataError(
            f"dataset file not found: {path}. Point SEQSERVE_DATA_DIR (or --data-dir) at a "
            f"directory holding {file.relative_path}, pass your own file with --data-file, "
            f"or add --download to fetch it from {file.url}"
        )
    fetch(file, path)
    return path


def fetch(file: PublicFile, destination: Path, timeout: float = 30.0) -> None:
    """Download to a temporary file, check the sha256, then move into place."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as tmp:
        tmp_path = Path(tmp.name)
        try:
            with urllib.request.urlopen(file.url, timeout=timeout) as response:
                shutil.copyfileobj(response, tmp)
        except (urllib.error.URLError, OSError) as exc:
            tmp_path.unlink(missing_ok=True)
            raise DataError(
                f"could not download {file.url} ({exc}). Without network access, copy the file "
                f"to {destination} yourself."
            ) from exc
    digest = sha256_file(tmp_path)
    if digest != file.sha256:
        tmp_path.unlink(missing_ok=True)
        raise DataError(f"{file.url} has sha256 {digest}, expected {file.sha256}; not saved")
    tmp_path.replace(destination)


def fingerprint(*paths: Path) -> dict[str, str]:
    return {path.name: sha256_file(path) for path in paths}
