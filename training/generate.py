"""Train a character-level language model and save it as a step model that carries its state.

The saved model maps (characters, recurrent state) to (next-character logits, new state). Serving
runs the prompt through it once, then feeds one character at a time with the carried state, so
each generated character costs one recurrent step instead of a pass over a whole window.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from app.artifacts import GeneratePreprocessing, Metadata
from app.drift import generate_statistics, reference_profile
from app.generation import Sampling, Stream, generate_now
from app.preprocessing import char_index, encode_chars
from training.common import describe, fit_and_reload_best, plot_history, seed_everything
from training.data.text import load_corpus
from training.export import publish, save_keras_and_onnx, staging_dir
from training.gru_onnx import gru_step_graph
from training.tbptt import CarriedStateValidation, copy_weights, stateful_twin, stream_batches


@dataclass
class GenerateConfig:
    data_file: Path | None = None  # a user's UTF-8 text; Tiny Shakespeare when unset
    cell: str = "gru"  # lstm | gru
    layers: int = 2
    units: int = 256
    embedding_dim: int = 64
    dropout: float = 0.0  # a short schedule underfits rather than overfits
    # Carry the state from each training sequence to the next (training/tbptt.py), as serving
    # does, rather than start every sequence from a zero state.
    carry_state: bool = True
    # Characters per training sequence (truncated backprop): shorter gives more updates per epoch.
    # Validation after 2 epochs: 1.756 at 128, 1.629 at 64; carried state 1.485 at 32, 1.470 at 16.
    seq_length: int = 16
    # Contiguous split: train, then validation (picks the best epoch), then test (reported only).
    validation_fraction: float = 0.05
    test_fraction: float = 0.05
    epochs: int = 2  # fixed, so the result does not depend on the machine's speed
    batch_size: int = 64
    # Peak rate (5e-3 rather than 3e-3: validation 1.526 vs 1.586), reached by a linear warm-up
    # over `warmup_fraction` of the steps, then a cosine decay to `final_lr` x peak.
    learning_rate: float = 5e-3
    warmup_fraction: float = 0.05
    final_lr: float = 0.0  # a short fixed schedule ends in a sharper minimum near a rate of 0
    patience: int = 3
    time_budget: float = 0.0  # seconds of fitting at most; 0 = none (only as an explicit option)
    seed: int = 42
    sample_prompt: str = "ROMEO:\n"
    sample_length: int = 300


CONFIG = GenerateConfig
# The metrics `python -m training` prints after a run.
HEADLINE = ("nats_per_char", "perplexity")
# Overrides of CONFIG's defaults per preset (`default` is CONFIG itself).
PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {  # seconds: for tests and smoke runs
        "units": 16,
        "layers": 1,
        "embedding_dim": 8,
        "seq_length": 32,
        "epochs": 1,
        "sample_length": 20,
    },
    "full": {"units": 384, "dropout": 0.1, "epochs": 12},  # tens of minutes on a CPU
}


def build(
    config: GenerateConfig, vocab_size: int, steps_per_epoch: int = 1
) -> tuple[keras.Model, keras.Model]:
    """A training model (sequence in, logits out) and a step model sharing its weights."""
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config.cell]
    embed = keras.layers.Embedding(vocab_size, config.embedding_dim)
    rnns = [
        layer(config.units, return_sequences=True, return_state=True, dropout=config.dropout)
        for _ in range(config.layers)
    ]
    head = keras.layers.Dense(vocab_size, name="logits")
    per_layer = 2 if config.cell == "lstm" else 1

    ids = keras.Input((None,), dtype="int32", name="char_ids")
    x = embed(ids)
    for rnn in rnns:
        x = rnn(x)[0]
    train_model = keras.Model(ids, head(x), name="char_lm")

    step_ids = keras.Input((None,), dtype="int32", name="char_ids")
    states_in = [
        keras.Input((config.units,), name=f"state_{k}") for k in range(per_layer * config.layers)
    ]
    x, states_out = embed(step_ids), []
    for j, rnn in enumerate(rnns):
        x, *states = rnn(x, initial_state=states_in[j * per_layer : (j + 1) * per_layer])
        states_out += states
    step_model = keras.Model([step_ids, *states_in], [head(x), *states_out], name="char_lm_step")

    total = config.epochs * steps_per_epoch
    warmup, peak = int(total * config.warmup_fraction), config.learning_rate
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, total - warmup, config.final_lr, "warmup_cosine", peak, warmup
    )
    train_model.compile(
        optimizer=keras.optimizers.Adam(schedule, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return train_model, step_model


def sequences(ids: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping (input, next-character target) pairs of `length` characters."""
    count = (len(ids) - 1) // length
    x = ids[: count * length].reshape(count, length)
    y = ids[1 : count * length + 1].reshape(count, length)
    return x, y


def split_text(
    ids: np.ndarray, config: GenerateConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train, validation and test parts of the text, in this order, without overlap."""
    val_start = int(len(ids) * (1 - config.validation_fraction - config.test_fraction))
    test_start = int(len(ids) * (1 - config.test_fraction))
    return ids[:val_start], ids[val_start:test_start], ids[test_start:]


def held_out_loss(step_model: keras.Model, ids: np.ndarray, streams: int = 16) -> float:
    """Cross-entropy in nats per character, carrying state across the whole held-out text.

    This is how serving uses the model: the held-out text is cut into `streams` contiguous parts
    that are read in parallel, each from a zero state, chunk after chunk.
    """
    per_stream = (len(ids) - 1) // streams
    x = ids[: per_stream * streams].reshape(streams, per_stream)
    y = ids[1 : per_stream * streams + 1].reshape(streams, per_stream)
    states = [np.zeros((streams, s[-1]), np.float32) for s in step_model.input_shape[1:]]
    total, chunk = 0.0, 512
    for start in range(0, per_stream, chunk):
        logits, *states = step_model.predict_on_batch([x[:, start : start + chunk], *states])
        targets = y[:, start : start + chunk]
        total += float(
            keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
            .numpy()
            .sum()
        )
    return total / y.size


class _StepRuntime:
    """The Keras step model behind the runtime interface that serving's generation loop drives
    (app/runtime: named inputs in, outputs in order out)."""

    kind = "keras"

    def __init__(self, step_model: keras.Model) -> None:
        self.model = step_model
        states = (f"state_{k}" for k in range(len(step_model.inputs) - 1))
        self.input_names = ("char_ids", *states)

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        outputs = self.model.predict_on_batch([inputs[name] for name in self.input_names])
        return [np.asarray(out) for out in outputs]


def sample(
    step_model: keras.Model, spec: GeneratePreprocessing, prompt: str, length: int, seed: int
) -> str:
    """A seeded sample at temperature 0.8, stored in the metadata as a sanity check. Made by
    serving's own loop (app/generation.py), so it is what the service would write."""
    sampling = Sampling(max_tokens=length, temperature=0.8)
    stream = Stream(encode_chars(prompt, char_index(spec)), sampling, np.random.default_rng(seed))
    return generate_now(_StepRuntime(step_model), spec, stream).text


def _input_profile(text: str, spec: GeneratePreprocessing) -> dict[str, list[float]]:
    """What serving compares prompts with (app/drift.py): the training text's share of unknown
    characters (none: the vocabulary is its character set). Prompt length is the user's
    choice, not data, so it has no reference."""
    profile = reference_profile("generate", generate_statistics([text[:10_000]], char_index(spec)))
    return {"unknown_share": profile["unknown_share"]}


def train(config: GenerateConfig, data_dir: Path, models_dir: Path, download: bool) -> Metadata:
    started = time.monotonic()
    seed_everything(config.seed)
    corpus = load_corpus(data_dir, config.data_file, download)
    # The character set comes from the whole text (as in nanoGPT's split); statistics do not.
    spec = GeneratePreprocessing(
        vocabulary="".join(sorted(set(corpus.text))),
        cell=config.cell,  # type: ignore[arg-type]
        layers=config.layers,
        units=config.units,
    )
    ids = encode_chars(corpus.text, char_index(spec))
    train_ids, val_ids, test_ids = split_text(ids, config)
    # The best epoch is chosen on validation; the test part is read once, for the metric.
    print(
        f"generate: {corpus.name}, {len(train_ids)} train / {len(val_ids)} validation / "
        f"{len(test_ids)} test chars"
    )
    # A short text gets fewer streams than `batch_size`, so each holds one sequence at least.
    streams = min(config.batch_size, (len(train_ids) - 1) // config.seq_length)
    if config.carry_state:
        batches = stream_batches(train_ids, config.seq_length, streams)
        steps = int(batches.cardinality())
    else:
        x_train, y_train = sequences(train_ids, config.seq_length)
        steps = -(-len(x_train) // config.batch_size)
    train_model, step_model = build(config, len(spec.vocabulary), steps)
    with staging_dir(models_dir, "generate") as staging:
        if config.carry_state:
            stateful = stateful_twin(step_model, streams)
            stateful.compile(optimizer=train_model.optimizer, loss=train_model.loss)
            validate = CarriedStateValidation(step_model, lambda m: held_out_loss(m, val_ids))
            history = fit_and_reload_best(
                stateful, batches, None, config, staging, first_callbacks=(validate,)
            )
            copy_weights(stateful, step_model)
        else:
            validation = sequences(val_ids, config.seq_length)
            history = fit_and_reload_best(
                train_model, (x_train, y_train), validation, config, staging
            )
        val_loss = held_out_loss(step_model, val_ids)
        loss = held_out_loss(step_model, test_ids)
        text = sample(step_model, spec, config.sample_prompt, config.sample_length, config.seed)
        print(f"generate: validation {val_loss:.3f}, test {loss:.3f} nats/char; sample:\n{text}")
        signature = (
            tf.TensorSpec((None, None), tf.int32, name="char_ids"),
            *(
                tf.TensorSpec((None, config.units), tf.float32, name=f"state_{k}")
                for k in range(spec.state_count)
            ),
        )
        # A GRU is exported by hand to ONNX's fused GRU operator (see gru_onnx.py).
        graph = gru_step_graph(step_model) if config.cell == "gru" else None
        save_keras_and_onnx(step_model, signature, staging, graph)
        plot_history(history, staging / "history.png", "generate: cross-entropy, nats/char")
        return publish(
            staging,
            {
                "task": "generate",
                "data": {"name": corpus.name, "files": corpus.files},
                "hyperparameters": describe(config, history),
                "preprocessing": spec,
                "metrics": {
                    "nats_per_char": loss,
                    "perplexity": float(np.exp(loss)),
                    "validation_nats_per_char": val_loss,
                    "test_chars": float(len(test_ids)),
                },
                "sample": config.sample_prompt + text,
                "training_seconds": round(time.monotonic() - started, 1),
                "input_profile": _input_profile(corpus.text, spec),
            },
        )
