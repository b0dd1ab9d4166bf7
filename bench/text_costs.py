"""`python -m bench.text_costs`: what the text models cost per request, in-process, one thread.

- sentiment: preprocessing + ONNX call for 32 IMDB test reviews, for the model in
  models/sentiment and for the previous architecture (embedding + LSTM(64), no wide part, random
  weights: its cost does not depend on them), interleaved so machine load hits both alike;
- generate: milliseconds per generated character at batch 1, without and with the penalties.

Needs the training extras (TensorFlow, tf2onnx) for the previous architecture's graph. Reports
medians; asserts nothing.
"""

from __future__ import annotations

import csv
import lzma
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from app.artifacts import SentimentPreprocessing, read_metadata, read_vocab, resolve_version
from app.batching import Batching
from app.config import Settings
from app.preprocessing import encode_texts, sentiment_inputs, vocab_index
from app.runtime import open_runtime
from app.schemas.generate import GenerateRequest
from app.tasks.generate import GeneratePredictor
from training.settings import TrainingSettings

REPEATS = 15


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return 1000 * float(np.median(times))


def imdb_reviews(count: int) -> list[str]:
    data_dir = TrainingSettings().data_dir
    with lzma.open(data_dir / "sentiment/imdb_test.csv.xz", "rt", encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return [row["text"] for i, row in zip(range(50 * count), rows, strict=False) if i % 50 == 0]


def previous_sentiment_graph(max_length: int, path: Path) -> None:
    import keras
    import tensorflow as tf
    import tf2onnx

    ids = keras.Input((max_length,), dtype="int32", name="token_ids")
    x = keras.layers.LSTM(64)(keras.layers.Embedding(20_002, 64)(ids))
    model = keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(x))
    signature = (tf.TensorSpec((None, max_length), tf.int32, name="token_ids"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=str(path))


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def sentiment_costs(models: Path) -> None:
    version_dir = resolve_version(models / "sentiment")
    spec = read_metadata(version_dir).preprocessing
    assert isinstance(spec, SentimentPreprocessing)
    index = vocab_index(read_vocab(version_dir, spec), spec)
    texts = imdb_reviews(32)
    previous_spec = SentimentPreprocessing(max_length=spec.max_length)
    with tempfile.TemporaryDirectory() as scratch:
        previous_path = Path(scratch) / "previous.onnx"
        previous_sentiment_graph(spec.max_length, previous_path)
        previous, current = session(previous_path), session(version_dir / "model.onnx")
        ids = encode_texts(texts, index, previous_spec)
        inputs = sentiment_inputs(texts, index, spec)
        costs = {"previous": [0.0, 0.0], "current": [0.0, 0.0]}
        for _ in range(3):  # interleaved rounds
            costs["previous"][0] += median_ms(lambda: encode_texts(texts, index, previous_spec))
            costs["current"][0] += median_ms(lambda: sentiment_inputs(texts, index, spec))
            costs["previous"][1] += median_ms(lambda: previous.run(None, {"token_ids": ids}))
            costs["current"][1] += median_ms(lambda: current.run(None, inputs))
    for name, (prepare, run) in costs.items():
        print(
            f"sentiment {name:>8}: {prepare / 3:6.1f} ms preprocessing + {run / 3:6.1f} ms model"
            f" = {(prepare + run) / 3:6.1f} ms per {len(texts)} IMDB reviews"
        )


def generate_costs(models: Path) -> None:
    version_dir = resolve_version(models / "generate")
    runtime = open_runtime("onnx", version_dir, 1)
    model = GeneratePredictor.from_artifact(
        version_dir, read_metadata(version_dir), runtime, Batching()
    )
    plain = {"prompt": "ROMEO:\n", "max_tokens": 300, "temperature": 0.8, "seed": 1}
    penalties = {"frequency_penalty": 0.3, "presence_penalty": 0.2, "repetition_penalty": 1.1}
    for name, body in (("no penalties", plain), ("penalties", plain | penalties)):
        request = GenerateRequest.model_validate(body)

        def run(request: GenerateRequest = request) -> object:
            return model.complete(request)

        per_char = median_ms(run, repeats=9) / 300
        print(f"generate {name:>12}: {per_char:.3f} ms per character (batch 1)")


def main() -> None:
    models = Settings().models_dir
    sentiment_costs(models)
    generate_costs(models)


if __name__ == "__main__":
    main()
