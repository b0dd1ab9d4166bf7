"""Tiny end-to-end training runs, artifact reloading and atomic publishing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from app.artifacts import (
    KERAS_FILE,
    ONNX_FILE,
    TASKS,
    ForecastPreprocessing,
    list_versions,
    read_metadata,
    read_vocab,
    resolve_version,
    verify_files,
)
from app.preprocessing import forecast_inputs, sentiment_inputs, vocab_index
from training.cli import main
from training.export import publish, staging_dir

pytestmark = pytest.mark.slow


def load_keras(path: Path):  # type: ignore[no-untyped-def]
    import keras

    return keras.saving.load_model(path, safe_mode=True, compile=False)


def test_tiny_presets_train_every_task(tiny_models: Path) -> None:
    for task in TASKS:
        version_dir = resolve_version(tiny_models / task)
        metadata = read_metadata(version_dir)
        verify_files(version_dir, metadata)
        assert metadata.task == task and metadata.version == 1
        assert {KERAS_FILE, ONNX_FILE, "history.png"} <= set(metadata.files)
        assert all(np.isfinite(v) for v in metadata.metrics.values())
        assert metadata.training_seconds is not None and metadata.training_seconds > 0
    assert read_metadata(resolve_version(tiny_models / "generate")).sample


def test_saved_forecaster_predicts_what_keras_and_onnx_agree_on(tiny_models: Path) -> None:
    version_dir = resolve_version(tiny_models / "forecast")
    spec = read_metadata(version_dir).preprocessing
    assert isinstance(spec, ForecastPreprocessing)
    rng = np.random.default_rng(0)
    series = [rng.normal(size=n).cumsum() for n in (spec.min_length, 30, 100, 500)]
    inputs = forecast_inputs(series, np.zeros(len(series), dtype=np.int64), spec).arrays
    keras_out = np.asarray(load_keras(version_dir / KERAS_FILE)(inputs))
    session = ort.InferenceSession(str(version_dir / ONNX_FILE))
    np.testing.assert_allclose(session.run(None, inputs)[0], keras_out, atol=1e-4)
    assert np.abs(keras_out).max() <= spec.correction_bound


def test_sentiment_artifact_reproduces_training_encoding(tiny_models: Path, tmp_path: Path) -> None:
    """Serving rebuilds the vocabulary from the artifact and gets the ids training used."""
    version_dir = resolve_version(tiny_models / "sentiment")
    spec = read_metadata(version_dir).preprocessing
    vocabulary = read_vocab(version_dir, spec)  # type: ignore[arg-type]
    texts = ["a great and moving film!", "dull, boring<br />awful?", "zzzz unknownword"]
    inputs = sentiment_inputs(texts, vocab_index(vocabulary, spec), spec)  # type: ignore[arg-type]
    ids = inputs["token_ids"]
    assert ids.shape == (3, spec.max_length)  # type: ignore[union-attr]
    assert inputs["ngram_ids"].shape == (3, spec.ngram_length)  # type: ignore[union-attr]
    assert (ids[2] <= 1).all()  # unknown words map to the OOV id, padding to 0
    session = ort.InferenceSession(str(version_dir / ONNX_FILE))
    onnx_out = session.run(None, inputs)[0]
    keras_out = np.asarray(load_keras(version_dir / KERAS_FILE)(inputs))
    np.testing.assert_allclose(onnx_out, keras_out, atol=1e-4)
    # Probabilities; the tiny model's may round to exactly 0 or 1: its validation split is
    # separable, so calibration sharpens it as far as it may (temperature exp(-3)).
    assert ((onnx_out >= 0) & (onnx_out <= 1)).all()


def test_generate_step_model_carries_state(tiny_models: Path) -> None:
    """Feeding characters one at a time with the carried state equals one pass over all."""
    version_dir = resolve_version(tiny_models / "generate")
    spec = read_metadata(version_dir).preprocessing
    session = ort.InferenceSession(str(version_dir / ONNX_FILE))
    count, units = spec.state_count, spec.units  # type: ignore[union-attr]
    ids = np.array([[3, 1, 4, 1, 5]], dtype=np.int32)
    zeros = {f"state_{k}": np.zeros((1, units), np.float32) for k in range(count)}
    whole = session.run(None, {"char_ids": ids, **zeros})
    states = zeros
    for t in range(ids.shape[1]):
        logits, *new = session.run(None, {"char_ids": ids[:, t : t + 1], **states})
        states = {f"state_{k}": s for k, s in enumerate(new)}
    np.testing.assert_allclose(logits[:, -1], whole[0][:, -1], atol=1e-5)
    keras_out = load_keras(version_dir / KERAS_FILE)([ids, *zeros.values()])
    np.testing.assert_allclose(np.asarray(keras_out[0]), whole[0], atol=1e-4)


def test_versions_increase(tiny_models: Path, tiny_data: dict[str, Path]) -> None:
    models = tiny_models.parent / "versions"
    args = ["generate", "--preset", "tiny", "--models-dir", str(models)]
    args += ["--data-file", str(tiny_data["generate"]), "--epochs", "1"]
    assert main(args) == 0 and main(args) == 0
    assert list_versions(models / "generate") == [1, 2]
    assert resolve_version(models / "generate", pinned=1).name == "1"
    assert main([*args, "--if-missing"]) == 0
    assert list_versions(models / "generate") == [1, 2]


def test_an_interrupted_save_leaves_no_version(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), staging_dir(tmp_path, "forecast") as staging:
        (staging / "model.keras").write_bytes(b"half a model")
        raise KeyboardInterrupt
    assert list(tmp_path.joinpath("forecast").iterdir()) == []
    assert list_versions(tmp_path / "forecast") == []


def test_publish_checksums_every_file(tmp_path: Path) -> None:
    with staging_dir(tmp_path, "generate") as staging:
        (staging / "model.onnx").write_bytes(b"graph")
        metadata = publish(
            staging,
            {
                "task": "generate",
                "data": {"name": "x", "files": {}},
                "hyperparameters": {},
                "preprocessing": {
                    "kind": "char_ids",
                    "vocabulary": "ab",
                    "cell": "gru",
                    "layers": 1,
                    "units": 2,
                },
                "metrics": {},
            },
        )
    version_dir = tmp_path / "generate" / "1"
    assert json.loads((version_dir / "metadata.json").read_text())["version"] == 1
    verify_files(version_dir, metadata)
    (version_dir / "model.onnx").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        verify_files(version_dir, metadata)


def test_bad_data_file_exits_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nhello,maybe\n")
    code = main(
        ["sentiment", "--preset", "tiny", "--models-dir", str(tmp_path), "--data-file", str(bad)]
    )
    assert code == 2
    assert "label 'maybe'" in capsys.readouterr().err
    assert list_versions(tmp_path / "sentiment") == []


def _tiny_models() -> list[tuple[Any, tuple[Any, ...], list[np.ndarray], Any]]:
    """(a freshly built model, its ONNX signature, example inputs, a hand-built graph or None)."""
    import tensorflow as tf

    from training import forecast, generate, sentiment
    from training.gru_onnx import gru_step_graph

    rng = np.random.default_rng(0)
    fc = forecast.ForecastConfig(window=48, units=4, layers=1)
    fc_spec = forecast.spec_for(fc)
    se = sentiment.SentimentConfig(
        vocab_size=50, max_length=12, embedding_dim=4, units=4, ngram_tokens=10, ngram_buckets=64
    )
    cases = [
        (
            forecast.build(fc, fc_spec),
            (
                tf.TensorSpec((None, 48), tf.float32, name="window"),
                tf.TensorSpec((None, 48), tf.float32, name="observed"),
                tf.TensorSpec((None, fc_spec.context_size), tf.float32, name="context"),
            ),
            [
                rng.normal(size=(3, 48)).astype(np.float32),
                (rng.random((3, 48)) > 0.3).astype(np.float32),
                rng.normal(size=(3, fc_spec.context_size)).astype(np.float32),
            ],
            None,
        ),
        (
            sentiment.build(se)[1],
            (
                tf.TensorSpec((None, 12), tf.int32, name="token_ids"),
                tf.TensorSpec((None, 20), tf.int32, name="ngram_ids"),
            ),
            [
                rng.integers(0, 52, size=(3, 12)).astype(np.int32),
                np.concatenate([np.ones((3, 1)), rng.integers(0, 66, size=(3, 19))], axis=1).astype(
                    np.int32
                ),
            ],
            None,
        ),
    ]
    for cell, count in (("lstm", 4), ("gru", 2)):
        config = generate.GenerateConfig(units=4, layers=2, embedding_dim=3, cell=cell)
        _, step = generate.build(config, vocab_size=7)
        for weight in step.weights:  # trained-looking weights: biases and all non-zero
            weight.assign(rng.normal(scale=0.5, size=weight.shape).astype(np.float32))
        signature = (
            tf.TensorSpec((None, None), tf.int32, name="char_ids"),
            *(tf.TensorSpec((None, 4), tf.float32, name=f"state_{k}") for k in range(count)),
        )
        states = [rng.normal(size=(2, 4)).astype(np.float32) for _ in range(count)]
        inputs = [rng.integers(0, 7, size=(2, 5)).astype(np.int32), *states]
        cases.append((step, signature, inputs, gru_step_graph(step) if cell == "gru" else None))
    return cases


@pytest.mark.parametrize(
    "case", range(4), ids=["forecast", "sentiment", "generate-lstm", "generate-gru-fused"]
)
def test_saved_model_predicts_what_the_in_memory_model_did(case: int, tmp_path: Path) -> None:
    from training.export import save_keras_and_onnx

    model, signature, inputs, graph = _tiny_models()[case]
    expected = model(inputs if len(inputs) > 1 else inputs[0])
    expected = [np.asarray(e) for e in (expected if isinstance(expected, list) else [expected])]
    save_keras_and_onnx(model, signature, tmp_path, graph)

    reloaded = load_keras(tmp_path / KERAS_FILE)(inputs if len(inputs) > 1 else inputs[0])
    reloaded = reloaded if isinstance(reloaded, list) else [reloaded]
    for want, got in zip(expected, reloaded, strict=True):
        np.testing.assert_array_equal(np.asarray(got), want)  # exactly: same weights, same graph
    session = ort.InferenceSession(str(tmp_path / ONNX_FILE))
    feed = {spec.name: x for spec, x in zip(signature, inputs, strict=True)}
    for want, got in zip(expected, session.run(None, feed), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)
