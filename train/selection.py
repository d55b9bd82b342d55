"""Choosing checkpoints the way users are scored: digit strings read from field crops.

The pixel IoU of synthetic validation tiles ranks checkpoints poorly for real scans
(docs/model.md: checkpoints whose IoU differed by 0.0002 differed by 0.024 in string
accuracy on real register numbers). `FieldStrings` reads synthetic field crops drawn from
the `val`-split digits through the runner's own pipeline after every epoch and logs their
string accuracy as `val_field_strings`, for the checkpoint and early-stopping callbacks.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from fcn8_ocr.config import Options
from fcn8_ocr.pipeline import segment_pages
from fcn8_ocr.read import Page
from fcn8_ocr.scoring import StringScore

from .keras_predictor import KerasPredictor
from .sources import Digits
from .synthesize import field_label, whole_field

LOG_KEY = "val_field_strings"
FIELD_SIZE = (204, 138)  # width, height: the size of a real register crop
FIELD_DIGIT_HEIGHT = (18.0, 40.0)


def field_crops(digits: Digits, count: int, seed: int) -> tuple[list[Page], list[str]]:
    """`count` whole field crops (every digit inside) and their digit strings."""
    rng = np.random.default_rng([seed, 1717])
    pages, truths = [], []
    for n in range(count):
        image, _, centres = whole_field(rng, digits, FIELD_SIZE, FIELD_DIGIT_HEIGHT)
        pages.append(Page(Path(f"field_{n:04d}"), f"field_{n:04d}", 1, image))
        truths.append(field_label(centres))
    return pages, truths


def string_accuracy(predictor, pages: list[Page], truths: list[str]) -> float:
    """Share of `pages` whose digits, read by the runner in reading order, equal the truth."""
    score = StringScore()
    for result, truth in zip(segment_pages(pages, predictor, predictor.info, Options()), truths,
                             strict=True):
        score.add(result.page.name, truth, "".join(str(r.digit) for r in result.regions))
    return float(score.report()["string_accuracy"] or 0.0)


class FieldStrings(keras.callbacks.Callback):
    """Logs `val_field_strings` at the end of every epoch (put it before the callbacks
    that read it)."""

    def __init__(self, digits: Digits, count: int, seed: int) -> None:
        super().__init__()
        self.pages, self.truths = field_crops(digits, count, seed)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            predictor = KerasPredictor(None, self.model)
            logs[LOG_KEY] = string_accuracy(predictor, self.pages, self.truths)
