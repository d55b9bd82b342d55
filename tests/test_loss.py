"""The training loss on hand-made label maps (real TensorFlow ops)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow

BG = 10


def two_digits(gap: int) -> np.ndarray:
    """A 1x24x40 label map: a 3 at columns 4-9 and a 5 starting `gap` columns after it."""
    labels = np.full((1, 24, 40), BG, np.int32)
    labels[0, 6:18, 4:10] = 3
    labels[0, 6:18, 10 + gap : 16 + gap] = 5
    return labels


def test_contested_pixels_are_digit_pixels_near_another_digit():
    import tensorflow as tf
    from fcn8_ocr.train.losses import CONTESTED_RADIUS, contested_pixels

    labels = two_digits(gap=2)
    contested = contested_pixels(tf.constant(labels)).numpy()[0]
    row = contested[10]
    # the 3 spans columns 4-9 and the 5 columns 12-17: within the radius of each other
    expected = np.zeros(40)
    expected[12 - CONTESTED_RADIUS : 10] = 1
    expected[12 : 10 + CONTESTED_RADIUS] = 1
    np.testing.assert_array_equal(row, expected)
    assert contested[labels[0] == BG].sum() == 0  # background is never contested
    apart = contested_pixels(tf.constant(two_digits(gap=2 * CONTESTED_RADIUS))).numpy()
    assert apart.sum() == 0


def test_contested_weight_raises_the_cost_of_errors_between_digits():
    import tensorflow as tf
    from fcn8_ocr.train.losses import contested_pixels, make_loss

    labels = two_digits(gap=2)
    onehot = tf.one_hot(labels, 11).numpy()
    wrong = onehot.copy()
    contested = contested_pixels(tf.constant(labels)).numpy().astype(bool)
    wrong[contested] = np.roll(wrong[contested], 1, axis=-1)  # contested pixels mislabelled
    probs = tf.constant(0.02 + 0.78 * wrong, tf.float32)
    plain, weighted = float(make_loss()(labels, probs)), float(make_loss(2.0)(labels, probs))
    assert weighted > plain + 0.1
    # apart digits have no contested pixels: the weight changes nothing
    apart = two_digits(gap=12)
    probs = tf.constant(0.02 + 0.78 * tf.one_hot(apart, 11).numpy(), tf.float32)
    assert float(make_loss()(apart, probs)) == pytest.approx(float(make_loss(2.0)(apart, probs)))
