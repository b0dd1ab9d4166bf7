"""TensorFlow backend: runs the Keras file. Imported only when SEQSERVE_RUNTIME=tensorflow."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np


class KerasRuntime:
    kind = "tensorflow"

    def __init__(self, path: Path, threads: int) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads
        import keras
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TensorFlow already initialised (a second model): the first call's values hold
        # safe_mode refuses Lambda layers and other arbitrary code stored in the file.
        self._model = keras.saving.load_model(path, safe_mode=True, compile=False)
        self.input_names = tuple(t.name.split(":")[0] for t in self._model.inputs)

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        feed = [inputs[name] for name in self.input_names]
        outputs = self._model.predict_on_batch(feed if len(feed) > 1 else feed[0])
        if not isinstance(outputs, list | tuple):
            outputs = [outputs]
        return [np.asarray(out) for out in outputs]
