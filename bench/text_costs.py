"""`python -m bench.text_costs`: what the text models cost per request, in-process, one thread.

- sentiment: preprocessing + ONNX call for 32 IMDB test reviews, for the model in
  models/sentiment and for the previous architecture (embedding + LSTM(64), no wide part, random
  weights: its cost does not depend on them), interleaved so machine load hits both alike;
- generate: milliseconds per generated character at batch 1, without and with the penalties.

Every graph runs in the service's own ONNX Runtime set-up (app/runtime/, one thread). Needs
the training extras (TensorFlow, tf2onnx) for the previous architecture's graph. Reports
medians; asserts nothing.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# The tasks first, as in the service: importing app.schemas.generate before them is circular.
from app import tasks  # noqa: F401
from app.artifacts import SentimentPreprocessing, read_metadata, read_vocab, resolve_version
from app.batching import Batching
from app.preprocessing import encode_texts, sentiment_inputs, vocab_index
from app.runtime import open_runtime
from app.runtime.onnx import OnnxRuntime
from app.schemas.generate import GenerateRequest
from app.tasks.generate import GeneratePredictor
from bench.options import WithData, parse
from bench.payloads import imdb_reviews

REPEATS = 15


def median_ms(run: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def previous_sentiment_graph(max_length: int, path: Path) -> None:
    import keras
    import tensorflow as tf
    import tf2onnx

    ids = keras.Input((max_length,), dtype="int32", name="token_ids")
    x = keras.layers.LSTM(64)(keras.layers.Embedding(20_002, 64)(ids))
    model = keras.Model(ids, keras.layers.Dense(1, activation="sigmoid")(x))
    signature = (tf.TensorSpec((None, max_length), tf.int32, name="token_ids"),)
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=str(path))


def sentiment_costs(models: Path, texts: Sequence[str]) -> None:
    version_dir = resolve_version(models / "sentiment")
    spec = read_metadata(version_dir).preprocessing
    assert isinstance(spec, SentimentPreprocessing)
    index = vocab_index(read_vocab(version_dir, spec), spec)
    previous_spec = SentimentPreprocessing(max_length=spec.max_length)
    with tempfile.TemporaryDirectory() as scratch:
        previous_path = Path(scratch) / "previous.onnx"
        previous_sentiment_graph(spec.max_length, previous_path)
        previous, current = (
            OnnxRuntime(previous_path, 1),
            OnnxRuntime(version_dir / "model.onnx", 1),
        )
        ids = encode_texts(texts, index, previous_spec)
        inputs = sentiment_inputs(texts, index, spec)
        costs = {"previous": [0.0, 0.0], "current": [0.0, 0.0]}
        for _ in range(3):  # interleaved rounds
            costs["previous"][0] += median_ms(lambda: encode_texts(texts, index, previous_spec))
            costs["current"][0] += median_ms(lambda: sentiment_inputs(texts, index, spec))
            costs["previous"][1] += median_ms(lambda: previous.run({"token_ids": ids}))
            costs["current"][1] += median_ms(lambda: current.run(inputs))
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


def main(argv: list[str] | None = None) -> None:
    options = parse(WithData, argv, "python -m bench.text_costs", __doc__)
    texts = imdb_reviews(options.data_dir, 32, every=50, lengths=None)
    if len(texts) < 32:
        raise SystemExit(f"the IMDB test set is missing from {options.data_dir}")
    sentiment_costs(options.models_dir, texts)
    generate_costs(options.models_dir)


if __name__ == "__main__":
    main()
