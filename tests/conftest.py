"""Fixtures only (helpers live in tests/helpers.py). Tiny datasets are generated here
(tests/tiny_data.py), so no test reads ../shared/data or the network. Serving tests use fake
predictors (tests/helpers.py) or the tiny trained artifacts."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from app.main import create_app
from app.registry import Registry
from tests import tiny_data as data
from tests.helpers import TestClient, fake_registry, loaded_registry, make_settings

# No per-example deadline: speed is measured in bench/, and a busy 2-core CI machine once took
# 416 ms for an example that takes 0.3 ms alone.
hypothesis_settings.register_profile("seqserve", deadline=None)
hypothesis_settings.load_profile("seqserve")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("data")
    return {
        "forecast": data.series_csv(root / "series.csv"),
        "sentiment": data.sentiment_csv(root / "reviews.csv"),
        "generate": data.corpus(root / "corpus.txt"),
    }


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    """One tiny-preset artifact per task, trained in-process on the tiny datasets."""
    from training.cli import main

    models = tmp_path_factory.mktemp("models")
    empty_data_dir = tmp_path_factory.mktemp("no-shared-data")
    for task, data_file in tiny_data.items():
        args = [task, "--preset", "tiny", "--models-dir", str(models)]
        args += ["--data-dir", str(empty_data_dir), "--data-file", str(data_file)]
        assert main(args) == 0, f"tiny {task} training failed"
    return models


@pytest.fixture(scope="session")
def tiny_registry(tiny_models: Path) -> Registry:
    """The tiny artifacts, loaded once: one thread per model, at most 6 streams at once."""
    return loaded_registry(tiny_models, threads=1, max_streams=6)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    """make_client(missing=("generate",), max_texts=2) -> a started TestClient on fakes."""
    stack = ExitStack()

    def make(missing: Sequence[str] = (), **overrides: Any) -> TestClient:
        settings = make_settings(models_dir=tmp_path, **overrides)
        app = create_app(settings, fake_registry(settings, missing))
        return stack.enter_context(TestClient(app))

    with stack:
        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()
