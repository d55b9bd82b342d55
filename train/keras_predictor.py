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


class KerasPredictor:
    """uint8 (N, H, W) -> the contract's outputs, with `model.predict` and numpy."""

    def __init__(self, path: str | Path | None, model: keras.Model | None = None) -> None:
        """The checkpoint at `path` (with the training.json beside it), or, with no path,
        `model` as it is in memory."""
        self.model = model if path is None else keras.models.load_model(path, compile=False)
        meta_path = Path(path).with_name("training.json") if path is not None else None
        meta = json.loads(meta_path.read_text()) if meta_path and meta_path.is_file() else {}
        self.digit_height = float(meta.get("digit_height", MODEL_DIGIT_HEIGHT))
        self.centres = isinstance(self.model.output, dict)
        outputs = REQUIRED_OUTPUTS + (INSTANCE_OUTPUTS if self.centres else ())
        self.info = model_info(contract_metadata(self.digit_height, meta), outputs,
                               str(path or "in-memory Keras model"))

    def __call__(self, batch: np.ndarray, release_memory: bool = False) -> dict[str, np.ndarray]:
        # a plain call, not `predict`: on JAX, `predict` inside `fit` (the selection
        # callback) hands the weights' buffers to its own step and the next epoch fails
        predicted = keras.tree.map_structure(keras.ops.convert_to_numpy, self.model(
            batch[..., None].astype(np.float32), training=False))
        probabilities = predicted["probabilities"] if self.centres else predicted
        out = {LABELS: probabilities.argmax(-1).astype(np.uint8), SCORES: probabilities.max(-1)}
        if self.centres:
            out[CENTRES] = predicted["centres"][..., 0]
            out[SIZES] = self.digit_height * np.exp2(predicted["sizes"][..., 0])
        return out
