"""A Keras checkpoint behind the runner's predictor interface (for `fcn8-ocr evaluate`)."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np

from fcn8_ocr.classes import BACKGROUND, CLASS_NAMES
from fcn8_ocr.infer import ModelInfo

from .data import MODEL_DIGIT_HEIGHT


class KerasPredictor:
    """uint8 (N, H, W) -> labels, scores with `model.predict` and a numpy argmax."""

    def __init__(self, path: str | Path) -> None:
        self.model = keras.models.load_model(path, compile=False)
        meta_path = Path(path).with_name("training.json")
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        self.info = ModelInfo(list(CLASS_NAMES), BACKGROUND, "ink_bright", "background_removed",
                              32, float(meta.get("digit_height", MODEL_DIGIT_HEIGHT)))

    def __call__(self, batch: np.ndarray, release_memory: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
        probabilities = self.model.predict(batch[..., None].astype(np.float32), verbose=0)
        return probabilities.argmax(-1).astype(np.uint8), probabilities.max(-1)
