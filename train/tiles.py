"""Synthetic training tiles in numpy alone (no TensorFlow): what every training loop,
the int8 calibration and the parity check draw from. Deterministic in (seed, index).

Every sample goes through the runner's own normalisation (`fcn8_ocr.normalise`), so the
model is trained on exactly what the runner will show it.
"""

from __future__ import annotations

import cv2
import numpy as np

from fcn8_ocr.classes import BACKGROUND
from fcn8_ocr.config import TRAIN_DEFAULTS, TrainConfig
from fcn8_ocr.normalise import model_input

from .fields import register_field
from .pen import european_forms, reproportioned
from .sources import Digits, load_digits, split_digits
from .synth import digit_rows, document_page, m2nist_sample

MODEL_DIGIT_HEIGHT = TRAIN_DEFAULTS.digit_height
TRAIN_SIZE_BAND = (0.5, 2.0)  # digit heights drawn, x the model's: a first guess within 2x will do
MNIST_FORMAT_HEIGHT = 24.0  # the model digit height M2NIST-style and row tiles are drawn for
TILE = TRAIN_DEFAULTS.tile
M2NIST_FRACTION = TRAIN_DEFAULTS.m2nist_fraction  # training tiles: M2NIST-style compositions,
FIELD_FRACTION = TRAIN_DEFAULTS.field_fraction    # register-like field crops,
ROW_FRACTION = TRAIN_DEFAULTS.row_fraction        # rows of MNIST-format digits, the rest pages
CENTRE_SIGMA = 1 / 8  # a centre peak's Gaussian sigma, as a share of the digit's height


def centre_targets(centres: list[tuple], shape: tuple[int, int],
                   digit_height: float = MODEL_DIGIT_HEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of the centre and size heads for digits at (y, x, height, ...).

    `heat` (H, W) float32: a Gaussian peak of value 1 on each digit's centre pixel (the
    maximum where peaks meet). `size` (H, W, 2): log2(height / `digit_height`) and a
    weight of 1 where a digit's peak is above 0.5 (and above its neighbours').
    """
    h, w = shape
    heat = np.zeros(shape, np.float32)
    size = np.zeros((h, w, 2), np.float32)
    for cy, cx, height, *_ in centres:
        sigma = max(1.0, CENTRE_SIGMA * height)
        r = int(3 * sigma) + 1
        py, px = int(round(cy - 0.5)), int(round(cx - 0.5))
        y0, y1, x0, x1 = max(0, py - r), min(h, py + r + 1), max(0, px - r), min(w, px + r + 1)
        if y1 <= y0 or x1 <= x0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        peak = np.exp(-((yy - py) ** 2 + (xx - px) ** 2) / (2 * sigma**2)).astype(np.float32)
        window = heat[y0:y1, x0:x1]
        own = (peak > 0.5) & (peak > window)
        size[y0:y1, x0:x1, 0][own] = np.log2(height / digit_height)
        size[y0:y1, x0:x1, 1][own] = 1.0
        np.maximum(window, peak, out=window)
    return heat, size


def synth_tile(seed: int, index: int, digits: Digits, tile: int = TILE,
               m2nist_fraction: float = M2NIST_FRACTION, field_fraction: float = FIELD_FRACTION,
               centres: list | None = None, row_fraction: float = ROW_FRACTION,
               digit_height: float = MODEL_DIGIT_HEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """One normalised training tile (H, W) uint8 and its labels; deterministic in (seed, index).

    A share `m2nist_fraction` of tiles are M2NIST-style compositions, `field_fraction`
    register-like field crops (`fields.register_field`), `row_fraction` tiles packed with
    rows of MNIST-format digits (`synth.digit_rows`), the rest scan-like page tiles
    whose digits are mostly drawn with a thin pen. Field and page digits are drawn
    TRAIN_SIZE_BAND x `digit_height` tall (the model's digit height); M2NIST-style and row
    tiles are drawn as for a MNIST_FORMAT_HEIGHT model and scaled to this one. Digit
    centres and heights are appended to `centres` if given.
    """
    rng = np.random.default_rng([seed, index])
    sizes = (TRAIN_SIZE_BAND[0] * digit_height, TRAIN_SIZE_BAND[1] * digit_height)
    draw = rng.random()
    if draw < field_fraction:
        image, labels, found = register_field(rng, digits, tile, tile, sizes)
        if centres is not None:
            centres.extend(found)
        return model_input(image, digit_height), labels
    draw -= field_fraction
    scale = digit_height / MNIST_FORMAT_HEIGHT
    canvas = round(tile / scale)
    if draw < row_fraction + m2nist_fraction:
        found = []
        if draw < row_fraction:
            image, labels = digit_rows(rng, digits, canvas, centres=found)
        else:
            image, labels = _m2nist_tile(rng, digits, canvas, found)
        image, labels = _scaled(image, labels, found, tile, centres)
        return model_input(image, digit_height, dark_ink=False), labels
    pen = 0.7 if field_fraction else 0.0
    image, labels = document_page(rng, digits, tile, tile, sizes, colour=False,
                                  pen=pen, centres=centres)
    return model_input(image, digit_height), labels


def _m2nist_tile(rng: np.random.Generator, digits: Digits, tile: int, centres: list
                 ) -> tuple[np.ndarray, np.ndarray]:
    """1-3 overlapping M2NIST-style compositions on a black `tile` x `tile` square."""
    image = np.zeros((tile, tile), np.uint8)
    labels = np.full((tile, tile), BACKGROUND, np.uint8)
    for _ in range(rng.integers(1, 4)):
        found: list = []
        small, small_labels = m2nist_sample(rng, digits, overlap=True, centres=found,
                                            slanted=0.35)
        small, small_labels = small[:tile, :tile], small_labels[:tile, :tile]
        y, x = rng.integers(0, tile - small.shape[0] + 1), rng.integers(0, tile - small.shape[1] + 1)
        window = image[y : y + small.shape[0], x : x + small.shape[1]]
        np.maximum(window, small, out=window)
        labels[y : y + small.shape[0], x : x + small.shape[1]] = np.where(
            small_labels != BACKGROUND, small_labels,
            labels[y : y + small.shape[0], x : x + small.shape[1]])
        centres.extend((c[0] + y, c[1] + x, *c[2:]) for c in found)
    return image, labels


def _scaled(image: np.ndarray, labels: np.ndarray, found: list, tile: int,
            centres: list | None) -> tuple[np.ndarray, np.ndarray]:
    """A drawn square brought to `tile` x `tile` (its centres, y, x and height, alike),
    the centres appended to `centres` if given."""
    factor = tile / image.shape[0]
    if factor != 1:
        image = cv2.resize(image, (tile, tile), interpolation=cv2.INTER_AREA)
        labels = cv2.resize(labels, (tile, tile), interpolation=cv2.INTER_NEAREST)
        found = [(y * factor, x * factor, height * factor, *rest) for y, x, height, *rest in found]
    if centres is not None:
        centres.extend(found)
    return image, labels


def run_digits(config: TrainConfig) -> tuple[Digits, Digits, Digits]:
    """All digits, the training split as training draws it, and the validation split."""
    digits = load_digits(config.mnist)
    train_digits = reproportioned(european_forms(split_digits(digits, "train"), config.seed),
                                  config.reproportion, config.seed)
    val_digits = european_forms(split_digits(digits, "val"), config.seed + 1)
    return digits, train_digits, val_digits


def training_sample(seed: int, index: int, digits: Digits, tile: int = TILE,
                    m2nist_fraction: float = M2NIST_FRACTION,
                    field_fraction: float = FIELD_FRACTION, row_fraction: float = ROW_FRACTION,
                    digit_height: float = MODEL_DIGIT_HEIGHT
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tile `index` of a run (`synth_tile`) with its targets: image and labels (H, W) uint8,
    centre heat (H, W) and size (H, W, 2) float32 (`centre_targets`)."""
    found: list = []
    image, labels = synth_tile(seed, index, digits, tile, m2nist_fraction, field_fraction, found,
                               row_fraction, digit_height)
    return (image, labels, *centre_targets(found, labels.shape, digit_height))


_worker_digits = None  # a tile worker's training digits (`start_tile_worker`)


def start_tile_worker(config: TrainConfig) -> None:
    """Loads a tile worker process's digits (a pool's initializer)."""
    global _worker_digits
    cv2.setNumThreads(1)
    _worker_digits = run_digits(config)[1]


def run_samples(config: TrainConfig, seed: int, digits: Digits, indices: range
                ) -> tuple[np.ndarray, ...]:
    """`training_sample`s `indices` of a run drawn with `seed`, stacked: images, labels,
    heat and size."""
    samples = [training_sample(seed, i, digits, config.tile, config.m2nist_fraction,
                               config.field_fraction, config.row_fraction, config.digit_height)
               for i in indices]
    return tuple(np.stack(part) for part in zip(*samples, strict=True))


def tile_batch(config: TrainConfig, first: int) -> tuple[np.ndarray, ...]:
    """Training tiles first ... first + batch_size - 1 of the run, made in a tile worker:
    images and labels uint8, heat and size float16 (half the bytes to send back)."""
    images, labels, heat, size = run_samples(config, config.seed, _worker_digits,
                                             range(first, first + config.batch_size))
    return images, labels, heat.astype(np.float16), size.astype(np.float16)


def as_model_batch(images: np.ndarray, labels: np.ndarray, heat: np.ndarray, size: np.ndarray
                   ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Stacked `training_sample` parts in the model's input and target layout."""
    return images[..., None].astype(np.float32), {
        "probabilities": labels, "centres": heat[..., None].astype(np.float32),
        "sizes": size.astype(np.float32)}
