"""tf.data pipelines: synthetic tiles (`tiles.synth_tile`) made on the fly, parallel and
seeded, or tiles cut from files on disk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from fcn8_ocr.classes import BACKGROUND
from fcn8_ocr.normalise import model_input, to_grey

from .sources import Digits, load_m2nist
from .tiles import (
    FIELD_FRACTION,
    M2NIST_FRACTION,
    MNIST_FORMAT_HEIGHT,
    MODEL_DIGIT_HEIGHT,
    ROW_FRACTION,
    TILE,
    training_sample,
)


def synth_dataset(digits: Digits, seed: int, batch_size: int, tile: int = TILE,
                  m2nist_fraction: float = M2NIST_FRACTION, count: int | None = None,
                  field_fraction: float = FIELD_FRACTION, centres: bool = False,
                  row_fraction: float = ROW_FRACTION,
                  digit_height: float = MODEL_DIGIT_HEIGHT) -> tf.data.Dataset:
    """Endless (or `count`-long) batches of (image float32 NxHxWx1 0-255, labels uint8 NxHxW);
    with `centres`, targets are a dict of labels, centre heat (NxHxW) and size (NxHxWx2)."""

    def make(index: tf.Tensor) -> tuple[np.ndarray, ...]:
        return training_sample(seed, int(index), digits, tile, m2nist_fraction, field_fraction,
                               row_fraction, digit_height)

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


def m2nist_arrays(folder: str | Path, digit_height: float = MODEL_DIGIT_HEIGHT
                  ) -> tuple[np.ndarray, np.ndarray]:
    """M2NIST `.npy` pairs (scaled as for `digit_height` as `tiles.synth_tile` scales
    M2NIST-style tiles), normalised and padded to multiples of 32: (N,H,W,1) float32,
    (N,H,W) uint8."""
    images, labels = load_m2nist(folder)
    scale = digit_height / MNIST_FORMAT_HEIGHT
    if scale != 1:
        size = (round(images.shape[2] * scale), round(images.shape[1] * scale))
        images = [cv2.resize(im, size, interpolation=cv2.INTER_AREA) for im in images]
        labels = [cv2.resize(lab, size, interpolation=cv2.INTER_NEAREST) for lab in labels]
    pairs = [to_multiple_of_32(model_input(im, digit_height, dark_ink=False), lab)
             for im, lab in zip(images, labels, strict=True)]
    return (np.stack([p[0] for p in pairs])[..., None].astype(np.float32),
            np.stack([p[1] for p in pairs]))


def folder_tiles(folder: str | Path, tile: int = TILE, seed: int = 0, scale: float = 1.0,
                 digit_height: float = MODEL_DIGIT_HEIGHT) -> tuple[np.ndarray, np.ndarray]:
    """Random tiles from `images/` + `labels/` of a folder (class-id PNGs matched by stem),
    resized by `scale` and normalised for a model of `digit_height`."""
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
        image = model_input(grey, digit_height)
        image, labels = to_multiple_of_32(image, labels)
        for _ in range(max(1, image.size // (tile * tile))):
            y = rng.integers(0, max(1, image.shape[0] - tile + 1))
            x = rng.integers(0, max(1, image.shape[1] - tile + 1))
            xs.append(image[y : y + tile, x : x + tile])
            ys.append(labels[y : y + tile, x : x + tile])
    if not xs:
        raise FileNotFoundError(f"{folder}: no images/ with matching labels/*.png")
    return np.stack(xs)[..., None].astype(np.float32), np.stack(ys)
