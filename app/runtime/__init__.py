"""Inference backends behind one small interface: named numpy inputs in, outputs in order out.

ONNX Runtime is the default: a few tens of MB and quick to start. The TensorFlow runtime loads the
Keras file instead, and is imported only when `SEQSERVE_RUNTIME=tensorflow` selects it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from app.artifacts import KERAS_FILE, ONNX_FILE
from app.stages import model_call

RuntimeKind = Literal["onnx", "tensorflow"]


class Runtime(Protocol):
    kind: str
    input_names: tuple[str, ...]

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """Outputs in the model's declared order. Safe to call from several threads at once."""
        ...


class _Timed:
    """A runtime whose calls are timed as the model-call stage of their batch (app/stages.py)."""

    def __init__(self, inner: Runtime) -> None:
        self.inner, self.kind, self.input_names = inner, inner.kind, inner.input_names

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        with model_call():
            return self.inner.run(inputs)


def open_runtime(kind: RuntimeKind, version_dir: Path, threads: int) -> Runtime:
    if kind == "tensorflow":
        from app.runtime.tensorflow import KerasRuntime  # pulls in TensorFlow: only on request

        return _Timed(KerasRuntime(version_dir / KERAS_FILE, threads))
    from app.runtime.onnx import OnnxRuntime

    return _Timed(OnnxRuntime(version_dir / ONNX_FILE, threads))


def check_inputs(runtime: Runtime, expected: tuple[str, ...]) -> None:
    """Fail at load time, with a clear reason, when a graph's inputs are not the contract's."""
    if set(runtime.input_names) != set(expected):
        raise ValueError(
            f"{runtime.kind} model inputs are {sorted(runtime.input_names)}, "
            f"expected {sorted(expected)}"
        )
