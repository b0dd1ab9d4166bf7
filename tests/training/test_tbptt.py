"""Training with the state carried between batches: stream order and the stateful twin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.slow  # imports TensorFlow
@settings(deadline=None, max_examples=25)
@given(st.integers(40, 400), st.integers(1, 5), st.integers(1, 6))
def test_each_row_continues_the_row_of_the_batch_before(n: int, streams: int, length: int) -> None:
    from training.tbptt import stream_batches

    ids = np.arange(n, dtype=np.int32)
    if (n - 1) // streams < length:
        with pytest.raises(ValueError):
            stream_batches(ids, length, streams)
        return
    batches = [(x.numpy(), y.numpy()) for x, y in stream_batches(ids, length, streams)]
    for x, y in batches:
        assert x.shape == (streams, length)
        np.testing.assert_array_equal(y, x + 1)  # targets: the next character
    rows = np.concatenate([x for x, _ in batches], axis=1)  # each stream, read in order
    np.testing.assert_array_equal(rows, rows[:, :1] + np.arange(rows.shape[1]))
    assert len(set(rows[:, 0])) == streams  # streams start at different places


@pytest.mark.slow
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_stateful_twin_over_chunks_equals_the_step_model_over_the_whole(cell: str) -> None:
    from training.generate import GenerateConfig, build
    from training.tbptt import copy_weights, stateful_twin

    config = GenerateConfig(units=4, layers=2, embedding_dim=3, cell=cell)
    _, step = build(config, vocab_size=7)
    twin = stateful_twin(step, batch_size=2)
    rng = np.random.default_rng(0)
    for weight in twin.trainable_weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape).astype(np.float32))
    copy_weights(twin, step)
    text = rng.integers(0, 7, size=(2, 10)).astype(np.int32)
    chunks = [np.asarray(twin(text[:, :4])), np.asarray(twin(text[:, 4:]))]
    zeros = [np.zeros((2, 4), np.float32)] * (len(step.inputs) - 1)
    whole = np.asarray(step([text, *zeros])[0])
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), whole, atol=1e-5)
