"""The registry: finding versions, verifying them, and failing one model without the others.

The first tests use hand-written artifacts (no model needed: they fail before one is opened);
the slow ones use the tiny trained artifacts from conftest's `tiny_models`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.artifacts import (
    METADATA_FILE,
    DataSource,
    ForecastPreprocessing,
    Metadata,
    read_metadata,
    sha256_file,
)
from app.main import create_app
from app.registry import Registry
from tests.helpers import assert_error, make_settings


def write_artifact(models_dir: Path, version: int = 1, **fields: object) -> Path:
    """A forecast version whose model file is junk: enough for every check before loading."""
    version_dir = models_dir / "forecast" / str(version)
    version_dir.mkdir(parents=True)
    (version_dir / "model.onnx").write_bytes(b"not an onnx graph")
    metadata = Metadata(
        task="forecast",
        version=version,
        created_at="2026-01-01T00:00:00+00:00",
        libraries={},
        data=DataSource(name="test", files={}),
        hyperparameters={},
        preprocessing=ForecastPreprocessing(
            window=4,
            patch=4,
            horizon=2,
            history=8,
            min_length=4,
            max_season=4,
            correction_bound=1.0,
            min_relative_scale=1e-3,
        ),
        metrics={},
        files={"model.onnx": sha256_file(version_dir / "model.onnx")},
    ).model_copy(update=fields)
    (version_dir / METADATA_FILE).write_text(metadata.model_dump_json(), encoding="utf-8")
    return version_dir


def reasons(models_dir: Path, **settings: object) -> dict[str, str | None]:
    registry = Registry(make_settings(models_dir=models_dir, **settings))
    registry.load_all()
    statuses = registry.statuses()
    assert all(s.state == "failed" for s in statuses)
    assert all(str(models_dir) not in (s.reason or "") for s in statuses)  # no paths leak
    return {s.task: s.reason for s in statuses}


def test_no_trained_version_says_how_to_train(tmp_path: Path) -> None:
    (tmp_path / "forecast" / ".staging-abc").mkdir(parents=True)  # unpublished: ignored
    assert reasons(tmp_path) == {
        task: f"no trained version in {task}/; train one with `python -m training {task}`"
        for task in ("forecast", "sentiment", "generate")
    }


@pytest.mark.parametrize("name", ["01", "\u0661", "v2", "1.0"])
def test_a_misnamed_version_directory_is_named_in_the_reason(tmp_path: Path, name: str) -> None:
    (tmp_path / "forecast" / name).mkdir(parents=True)
    reason = reasons(tmp_path)["forecast"] or ""
    assert f"ignored {name}: versions are named 1, 2, 3" in reason, reason


def test_sha256_mismatch_fails_that_model(tmp_path: Path) -> None:
    write_artifact(tmp_path, files={"model.onnx": "0" * 64})
    assert reasons(tmp_path)["forecast"] == (
        "forecast/1: model.onnx does not match the sha256 recorded in metadata.json; "
        "retrain with `python -m training forecast`"
    )


def test_a_missing_file_fails_that_model(tmp_path: Path) -> None:
    version_dir = write_artifact(tmp_path)
    (version_dir / "model.onnx").unlink()
    assert reasons(tmp_path)["forecast"].startswith("forecast/1: model.onnx is missing")  # type: ignore[union-attr]


def test_invalid_metadata_fails_that_model(tmp_path: Path) -> None:
    version_dir = write_artifact(tmp_path)
    (version_dir / METADATA_FILE).write_text('{"task": "forecast"}', encoding="utf-8")
    assert "metadata.json is invalid" in (reasons(tmp_path)["forecast"] or "")


def test_a_copied_directory_with_another_version_fails(tmp_path: Path) -> None:
    version_dir = write_artifact(tmp_path, version=2)
    metadata = json.loads((version_dir / METADATA_FILE).read_text(encoding="utf-8"))
    (version_dir / METADATA_FILE).write_text(json.dumps(metadata | {"version": 1}), "utf-8")
    assert "metadata.json says version 1" in (reasons(tmp_path)["forecast"] or "")


def test_an_unreadable_model_fails_without_leaking_paths(tmp_path: Path) -> None:
    write_artifact(tmp_path)  # checksums match; the graph itself is junk
    reason = reasons(tmp_path)["forecast"] or ""
    assert reason.startswith("forecast/1: ") and reason.endswith("`python -m training forecast`")


def test_a_pinned_version_that_does_not_exist(tmp_path: Path) -> None:
    write_artifact(tmp_path)
    reason = reasons(tmp_path, forecast_version=5)["forecast"] or ""
    assert reason.startswith("version 5 not found (published: 1)"), reason


# --- with real (tiny) artifacts ------------------------------------------------------------


def copy_version(tiny_models: Path, task: str, target: Path, version: int = 1) -> Path:
    """Copy a tiny artifact as `version`, rewriting the version its metadata records."""
    destination = target / task / str(version)
    shutil.copytree(tiny_models / task / "1", destination)
    metadata = json.loads((destination / METADATA_FILE).read_text(encoding="utf-8"))
    metadata["version"] = version
    (destination / METADATA_FILE).write_text(json.dumps(metadata), encoding="utf-8")
    return destination


@pytest.mark.slow
def test_every_tiny_artifact_loads_and_warms_up(tiny_models: Path) -> None:
    registry = Registry(make_settings(models_dir=tiny_models))
    registry.load_all()
    assert [(s.task, s.state) for s in registry.statuses()] == [
        ("forecast", "ready"),
        ("sentiment", "ready"),
        ("generate", "ready"),
    ]
    info = registry.get("forecast").info
    assert info.version == "1" and info.runtime == "onnx"
    limits = read_metadata(tiny_models / "forecast" / "1").limits
    assert info.input["min_length"] == limits["min_length"]


@pytest.mark.slow
def test_missing_models_do_not_stop_the_others(tiny_models: Path, tmp_path: Path) -> None:
    copy_version(tiny_models, "forecast", tmp_path)
    settings = make_settings(models_dir=tmp_path)
    registry = Registry(settings)
    registry.load_all()
    with TestClient(create_app(settings, registry)) as client:
        series = [float(i % 24) for i in range(200)]
        assert client.post("/forecast", json={"series": series}).status_code == 200
        body = assert_error(client.post("/sentiment", json={"text": "x"}), 503, "model_not_ready")
        assert "python -m training sentiment" in body["error"]
        assert_error(client.get("/ready"), 503, "not_ready", "generate")


@pytest.mark.slow
def test_a_tampered_model_fails_alone(tiny_models: Path, tmp_path: Path) -> None:
    for task in ("forecast", "sentiment", "generate"):
        copy_version(tiny_models, task, tmp_path)
    with (tmp_path / "sentiment" / "1" / "model.onnx").open("ab") as handle:
        handle.write(b"\0")
    registry = Registry(make_settings(models_dir=tmp_path))
    registry.load_all()
    states = {s.task: (s.state, s.reason) for s in registry.statuses()}
    assert states["forecast"][0] == states["generate"][0] == "ready"
    assert states["sentiment"] == (
        "failed",
        "sentiment/1: model.onnx does not match the sha256 recorded in metadata.json; "
        "retrain with `python -m training sentiment`",
    )


@pytest.mark.slow
def test_highest_version_wins_unless_pinned(tiny_models: Path, tmp_path: Path) -> None:
    for version in (1, 2):
        copy_version(tiny_models, "forecast", tmp_path, version)
    latest = Registry(make_settings(models_dir=tmp_path, tasks=("forecast",)))
    pinned = Registry(make_settings(models_dir=tmp_path, tasks=("forecast",), forecast_version=1))
    for registry in (latest, pinned):
        registry.load_all()
    assert latest.get("forecast").info.version == "2"
    assert pinned.get("forecast").info.version == "1"


@pytest.mark.slow
def test_a_model_with_code_in_it_is_refused_and_its_code_never_runs(
    tiny_models: Path, tmp_path: Path
) -> None:
    """A Lambda layer holds Python bytecode: safe loading refuses the file without running it."""
    import keras

    for task in ("forecast", "sentiment", "generate"):
        copy_version(tiny_models, task, tmp_path)
    version_dir = tmp_path / "forecast" / "1"
    marker = tmp_path / "code-ran"
    where = str(marker)  # a plain string, so Keras can store it with the lambda
    window = keras.Input((48,), name="window")
    payload = keras.layers.Lambda(lambda x: x * float(open(where, "a").close() is None))(window)
    keras.Model(window, keras.layers.Dense(48)(payload)).save(version_dir / "model.keras")
    marker.unlink()  # building the model above called the lambda once
    # Whoever planted the file also fixed the checksum: only safe loading stands in the way.
    metadata = read_metadata(version_dir)
    files = {**metadata.files, "model.keras": sha256_file(version_dir / "model.keras")}
    updated = metadata.model_copy(update={"files": files})
    (version_dir / METADATA_FILE).write_text(updated.model_dump_json(), encoding="utf-8")

    registry = Registry(make_settings(models_dir=tmp_path, runtime="tensorflow"))
    registry.load_all()
    states = {s.task: (s.state, s.reason or "") for s in registry.statuses()}
    assert states["forecast"][0] == "failed" and "Lambda" in states["forecast"][1]
    assert states["sentiment"][0] == states["generate"][0] == "ready"
    assert not marker.exists()
