"""A Keras checkpoint behind the runner's predictor interface (for `fcn8-ocr evaluate` and
`segment --model x.keras`); imported only when a `.keras` file is given."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from fcn8_ocr.contract import (
    CENTRES,
    INSTANCE_OUTPUTS,
    LABELS,
    REQUIRED_OUTPUTS,
    SCORES,
    SIZES,
    contract_metadata,
    model_info,
)

from . import model as _model  # noqa: F401  (registers the custom initialiser for loading)
from .tiles import MODEL_DIGIT_HEIGHT

BUCKET_BATCH = 8  # images per model call when batches are bucketed


def power_of_two(size: int) -> int:
    """The smallest power of two that holds `size`."""
    return 1 << (size - 1).bit_length()


class KerasPredictor:
    """uint8 (N, H, W) -> the contract's outputs, with a plain model call and numpy."""

    def __init__(self, path: str | Path | None, model: keras.Model | None = None,
                 buckets: bool | None = None) -> None:
        """The checkpoint at `path` (with the training.json beside it), or, with no path,
        `model` as it is in memory.

        `buckets` runs each batch in chunks of `BUCKET_BATCH` images zero-padded to a power
        of two in height and width, and crops the outputs back. JAX compiles every op for
        every new input shape, and the runner's field crops reach the model in over a
        hundred shapes (114 for 200 val crops): 30 crops took 200 s to read the first time
        on CPU, 15 s the second, and a GPU run with 200 logged no epoch in 9 minutes.
        Buckets hold the shapes to about a dozen. Default: on with the JAX backend, off with
        TensorFlow (which runs the call eagerly, compiling nothing).
        """
        self.model = model if path is None else keras.models.load_model(path, compile=False)
        self.buckets = keras.backend.backend() == "jax" if buckets is None else buckets
        meta_path = Path(path).with_name("training.json") if path is not None else None
        meta = json.loads(meta_path.read_text()) if meta_path and meta_path.is_file() else {}
        self.digit_height = float(meta.get("digit_height", MODEL_DIGIT_HEIGHT))
        self.centres = isinstance(self.model.output, dict)
        outputs = REQUIRED_OUTPUTS + (INSTANCE_OUTPUTS if self.centres else ())
        self.info = model_info(contract_metadata(self.digit_height, meta), outputs,
                               str(path or "in-memory Keras model"))

    def _call(self, batch: np.ndarray) -> dict[str, np.ndarray] | np.ndarray:
        # a plain call, not `predict`: on JAX, `predict` inside `fit` (the selection
        # callback) hands the weights' buffers to its own step and the next epoch fails
        return keras.tree.map_structure(keras.ops.convert_to_numpy, self.model(
            batch[..., None].astype(np.float32), training=False))

    def _padded_call(self, batch: np.ndarray) -> dict[str, np.ndarray] | np.ndarray:
        n, h, w = batch.shape
        padded = np.zeros((BUCKET_BATCH, power_of_two(h), power_of_two(w)), batch.dtype)
        padded[:n, :h, :w] = batch
        return keras.tree.map_structure(lambda t: t[:n, :h, :w], self._call(padded))

    def __call__(self, batch: np.ndarray, release_memory: bool = False) -> dict[str, np.ndarray]:
        if self.buckets:
            chunks = [self._padded_call(batch[i : i + BUCKET_BATCH])
                      for i in range(0, len(batch), BUCKET_BATCH)]
            predicted = keras.tree.map_structure(lambda *parts: np.concatenate(parts), *chunks)
        else:
            predicted = self._call(batch)
        probabilities = predicted["probabilities"] if self.centres else predicted
        out = {LABELS: probabilities.argmax(-1).astype(np.uint8), SCORES: probabilities.max(-1)}
        if self.centres:
            out[CENTRES] = predicted["centres"][..., 0]
            out[SIZES] = self.digit_height * np.exp2(predicted["sizes"][..., 0])
        return out
