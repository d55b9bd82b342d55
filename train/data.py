"""tf.data pipelines: synthetic tiles made on the fly (parallel, seeded) or files on disk.

Every sample goes through the runner's own normalisation (`fcn8_ocr.normalise`), so the
model is trained on exactly what the runner will show it.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from fcn8_ocr.classes import BACKGROUND
from fcn8_ocr.config import TRAIN_DEFAULTS
from fcn8_ocr.normalise import model_input, to_grey

from .fields import register_field
from .sources import Digits, load_m2nist
from .synth import digit_rows, document_page, m2nist_sample

MODEL_DIGIT_HEIGHT = 24.0
TRAIN_DIGIT_RANGE = (12.0, 48.0)  # digit heights at model scale: a first guess within 2x will do
TILE = TRAIN_DEFAULTS.tile
M2NIST_FRACTION = TRAIN_DEFAULTS.m2nist_fraction  # training tiles: M2NIST-style compositions,
FIELD_FRACTION = TRAIN_DEFAULTS.field_fraction    # register-like field crops,
ROW_FRACTION = TRAIN_DEFAULTS.row_fraction        # rows of MNIST-format digits, the rest pages
CENTRE_SIGMA = 1 / 8  # a centre peak's Gaussian sigma, as a share of the digit's height


def centre_targets(centres: list[tuple], shape: tuple[int, int]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Training targets of the centre and size heads for digits at (y, x, height, ...).

    `heat` (H, W) float32: a Gaussian peak of value 1 on each digit's centre pixel (the
    maximum where peaks meet). `size` (H, W, 2): log2(height / model digit height) and a
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
        size[y0:y1, x0:x1, 0][own] = np.log2(height / MODEL_DIGIT_HEIGHT)
        size[y0:y1, x0:x1, 1][own] = 1.0
        np.maximum(window, peak, out=window)
    return heat, size


def synth_tile(seed: int, index: int, digits: Digits, tile: int = TILE,
               m2nist_fraction: float = M2NIST_FRACTION, field_fraction: float = FIELD_FRACTION,
               centres: list | None = None, row_fraction: float = ROW_FRACTION
               ) -> tuple[np.ndarray, np.ndarray]:
    """One normalised training tile (H, W) uint8 and its labels; deterministic in (seed, index).

    A share `m2nist_fraction` of tiles are M2NIST-style compositions, `field_fraction`
    register-like field crops (`fields.register_field`), `row_fraction` tiles packed with
    rows of MNIST-format digits (`synth.digit_rows`), the rest scan-like page tiles
    whose digits are mostly drawn with a thin pen. Digit centres and heights are appended
    to `centres` if given.
    """
    rng = np.random.default_rng([seed, index])
    draw = rng.random()
    if draw < field_fraction:
        image, labels, found = register_field(rng, digits, tile, tile, TRAIN_DIGIT_RANGE)
        if centres is not None:
            centres.extend(found)
        return model_input(image, MODEL_DIGIT_HEIGHT), labels
    draw -= field_fraction
    if draw < row_fraction:
        image, labels = digit_rows(rng, digits, tile, centres=centres)
        return model_input(image, MODEL_DIGIT_HEIGHT, dark_ink=False), labels
    if draw < row_fraction + m2nist_fraction:
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
            if centres is not None:
                centres.extend((c[0] + y, c[1] + x, *c[2:]) for c in found)
        return model_input(image, MODEL_DIGIT_HEIGHT, dark_ink=False), labels
    pen = 0.7 if field_fraction else 0.0
    image, labels = document_page(rng, digits, tile, tile, TRAIN_DIGIT_RANGE, colour=False,
                                  pen=pen, centres=centres)
    return model_input(image, MODEL_DIGIT_HEIGHT), labels


def synth_dataset(digits: Digits, seed: int, batch_size: int, tile: int = TILE,
                  m2nist_fraction: float = M2NIST_FRACTION, count: int | None = None,
                  field_fraction: float = FIELD_FRACTION, centres: bool = False,
                  row_fraction: float = ROW_FRACTION) -> tf.data.Dataset:
    """Endless (or `count`-long) batches of (image float32 NxHxWx1 0-255, labels uint8 NxHxW);
    with `centres`, targets are a dict of labels, centre heat (NxHxW) and size (NxHxWx2)."""

    def make(index: tf.Tensor) -> tuple[np.ndarray, ...]:
        found: list = []
        image, labels = synth_tile(seed, int(index), digits, tile, m2nist_fraction,
                                   field_fraction, found, row_fraction)
        return (image, labels, *centre_targets(found, labels.shape))

    def wrapped(index: tf.Tensor):
        image, labels, heat, size = tf.numpy_function(
            make, [index], [tf.uint8, tf.uint8, tf.float32, tf.float32])
        image = tf.reshape(tf.cast(image, tf.float32), (tile, tile, 1))
        labels = tf.reshape(labels, (tile, tile))
        if not centres:
            return image, labels
        return image, {"probabilities": labels, "centres": tf.reshape(heat, (tile, tile, 1)),
                       "sizes": tf.reshape(size, (tile, tile, 2))}

    indices = tf.data.Dataset.range(count) if count else tf.data.Dataset.range(2**62)
    options = tf.data.Options()
    options.deterministic = True
    return (indices.map(wrapped, num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size).prefetch(tf.data.AUTOTUNE).with_options(options))


def to_multiple_of_32(image: np.ndarray, labels: np.ndarray, pad_value: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Pad bottom/right so both sides are multiples of 32 (labels padded as background)."""
    h, w = labels.shape
    ph, pw = -h % 32, -w % 32
    return (np.pad(image, ((0, ph), (0, pw)), constant_values=pad_value),
            np.pad(labels, ((0, ph), (0, pw)), constant_values=BACKGROUND))


def m2nist_arrays(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """M2NIST `.npy` pairs normalised and padded to 64x96: (N,H,W,1) float32, (N,H,W) uint8."""
    images, labels = load_m2nist(folder)
    pairs = [to_multiple_of_32(model_input(im, MODEL_DIGIT_HEIGHT, dark_ink=False), lab)
             for im, lab in zip(images, labels, strict=True)]
    return (np.stack([p[0] for p in pairs])[..., None].astype(np.float32),
            np.stack([p[1] for p in pairs]))


def folder_tiles(folder: str | Path, tile: int = TILE, seed: int = 0, scale: float = 1.0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Random tiles from `images/` + `labels/` of a folder (class-id PNGs matched by stem)."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label_path in sorted((folder / "labels").glob("*.png")):
        matches = [p for p in (folder / "images").glob(label_path.stem + ".*")]
        if not matches:
            continue
        grey = to_grey(cv2.imread(str(matches[0]), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR))
        labels = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        if scale != 1.0:
            size = (int(grey.shape[1] * scale), int(grey.shape[0] * scale))
            grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            labels = cv2.resize(labels, size, interpolation=cv2.INTER_NEAREST)
        image = model_input(grey, MODEL_DIGIT_HEIGHT)
        image, labels = to_multiple_of_32(image, labels)
        for _ in range(max(1, image.size // (tile * tile))):
            y = rng.integers(0, max(1, image.shape[0] - tile + 1))
            x = rng.integers(0, max(1, image.shape[1] - tile + 1))
            xs.append(image[y : y + tile, x : x + tile])
            ys.append(labels[y : y + tile, x : x + tile])
    if not xs:
        raise FileNotFoundError(f"{folder}: no images/ with matching labels/*.png")
    return np.stack(xs)[..., None].astype(np.float32), np.stack(ys)
