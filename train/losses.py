"""The training losses in `keras.ops`, so any Keras backend runs them (TensorFlow here,
JAX on a GPU machine with no TensorFlow).

Weighted cross-entropy plus a soft Dice term over the digit classes; with the centre
heads, CenterNet's focal loss on the centre heat map and an L1 loss on log2 digit size at
the centres.
"""

from __future__ import annotations

import keras
from keras import ops

from fcn8_ocr.classes import BACKGROUND, IGNORE, NUM_CLASSES

BACKGROUND_WEIGHT = 0.2
CONTESTED_RADIUS = 4  # model pixels: a digit pixel this close to another digit is contested
LOSS_WEIGHTS = {"probabilities": 1.0, "centres": 1.0, "sizes": 0.5}


def _max_pool(image):
    """Maximum over a square of side 2 * CONTESTED_RADIUS + 1 (separable: rows, then columns)."""
    side = 2 * CONTESTED_RADIUS + 1
    rows = ops.max_pool(image, (1, side), strides=1, padding="same")
    return ops.max_pool(rows, (side, 1), strides=1, padding="same")


def contested_pixels(labels):
    """1.0 where a digit pixel lies within CONTESTED_RADIUS of a different digit (touching or
    overlapping digits, where the network must tell strokes apart), else 0.0.

    A digit pixel is contested when the highest and lowest digit ids around it differ.
    """
    digit = ops.expand_dims(labels < BACKGROUND, -1)
    ids = ops.expand_dims(ops.cast(labels, "float32"), -1)
    highest = _max_pool(ops.where(digit, ids, -1.0))
    lowest = -_max_pool(ops.where(digit, -ids, -99.0))
    return ops.cast(ops.logical_and(digit, highest != lowest), "float32")[..., 0]


def make_loss(contested_weight: float = 0.0):
    """The segmentation loss; contested digit pixels count `1 + contested_weight` times in
    the cross-entropy (as U-Net's border weights for touching objects)."""

    def segmentation_loss(y_true, y_pred):
        """Class-weighted cross-entropy (background down-weighted, IGNORE dropped) + soft Dice."""
        labels = ops.cast(y_true, "int32")
        valid = ops.cast(labels != IGNORE, "float32")
        safe = ops.where(labels == IGNORE, BACKGROUND, labels)
        onehot = ops.one_hot(safe, NUM_CLASSES) * valid[..., None]
        weights = ops.where(safe == BACKGROUND, BACKGROUND_WEIGHT, 1.0) * valid
        if contested_weight:
            weights = weights * (1.0 + contested_weight * contested_pixels(safe))
        ce = keras.losses.sparse_categorical_crossentropy(safe, y_pred)
        ce = ops.sum(ce * weights) / ops.maximum(ops.sum(weights), 1.0)
        probs = y_pred * valid[..., None]
        inter = ops.sum(onehot * probs, axis=(0, 1, 2))[:BACKGROUND]
        total = ops.sum(onehot + probs, axis=(0, 1, 2))[:BACKGROUND]
        present = ops.cast(ops.sum(onehot, axis=(0, 1, 2))[:BACKGROUND] > 0, "float32")
        dice = (2 * inter + 1.0) / (total + 1.0)
        dice_loss = 1.0 - ops.sum(dice * present) / ops.maximum(ops.sum(present), 1.0)
        return ce + dice_loss

    return segmentation_loss


def centre_loss(y_true, y_pred):
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4) per digit centre."""
    heat = y_true[..., 0]
    p = ops.clip(y_pred[..., 0], 1e-4, 1 - 1e-4)
    peak = ops.cast(heat >= 0.999, "float32")
    positive = -ops.log(p) * (1 - p) ** 2 * peak
    negative = -ops.log(1 - p) * p**2 * (1 - heat) ** 4 * (1 - peak)
    return (ops.sum(positive) + ops.sum(negative)) / ops.maximum(ops.sum(peak), 1.0)


def size_loss(y_true, y_pred):
    """L1 on log2 digit size where the target's weight (channel 1) is set."""
    weight = y_true[..., 1]
    error = ops.abs(y_pred[..., 0] - y_true[..., 0]) * weight
    return ops.sum(error) / ops.maximum(ops.sum(weight), 1.0)


def custom_objects(contested_weight: float = 0.0) -> dict:
    """What `keras.models.load_model` needs to load a checkpoint saved with its optimizer."""
    return {"segmentation_loss": make_loss(contested_weight), "centre_loss": centre_loss,
            "size_loss": size_loss}
