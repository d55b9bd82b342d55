"""FCN-8 (Long et al., 2015) as the M2NIST course labs build it, in one function."""

from __future__ import annotations

import keras
from keras import layers

from fcn8_ocr.classes import NUM_CLASSES

LAB_FILTERS = (32, 64, 128, 256, 256)  # width=1: the course lab's filter counts
BLOCK_CONVS = (2, 2, 3, 3, 3)          # VGG-16's convolutions per block


def build_fcn8(width: float = 0.5, classes: int = NUM_CLASSES, batch_norm: bool = False
               ) -> keras.Model:
    """FCN-8: input (N, H, W, 1) grey values 0-255, ink bright; H, W multiples of 32.

    Output: per-pixel softmax over `classes` at input resolution. `width` scales every
    block's filters (1.0 = the course lab).
    """
    image = keras.Input((None, None, 1), name="image")
    x = layers.Rescaling(1.0 / 255.0)(image)
    pools = []
    for block, (filters, convs) in enumerate(zip(LAB_FILTERS, BLOCK_CONVS, strict=True), 1):
        for i in range(convs):
            x = layers.Conv2D(max(8, int(filters * width)), 3, padding="same",
                              use_bias=not batch_norm, name=f"block{block}_conv{i + 1}")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{block}_bn{i + 1}")(x)
            x = layers.ReLU(name=f"block{block}_relu{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        pools.append(x)
    pool3, pool4, pool5 = pools[2:]

    score5 = layers.Conv2D(classes, 1, name="score_pool5")(pool5)
    up = layers.Conv2DTranspose(classes, 4, strides=2, padding="same", use_bias=False,
                                name="up_pool5")(score5)
    up = layers.Add(name="add_pool4")([up, layers.Conv2D(classes, 1, name="score_pool4")(pool4)])
    up = layers.Conv2DTranspose(classes, 4, strides=2, padding="same", use_bias=False,
                                name="up_pool4")(up)
    up = layers.Add(name="add_pool3")([up, layers.Conv2D(classes, 1, name="score_pool3")(pool3)])
    up = layers.Conv2DTranspose(classes, 16, strides=8, padding="same", use_bias=False,
                                name="up_pool3")(up)
    probs = layers.Softmax(name="probabilities")(up)
    return keras.Model(image, probs, name=f"fcn8_w{width:g}")
