"""FCN-8 (Long et al., 2015) as the M2NIST course labs build it, in one function, with
optional CenterNet-style digit-centre and digit-size heads on the same skips."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from fcn8_ocr.classes import NUM_CLASSES

LAB_FILTERS = (32, 64, 128, 256, 256)  # width=1: the course lab's filter counts
BLOCK_CONVS = (2, 2, 3, 3, 3)          # VGG-16's convolutions per block


@keras.saving.register_keras_serializable(package="fcn8_ocr")
def bilinear(shape, dtype=None) -> np.ndarray:
    """Conv2DTranspose kernel (k, k, out, in) that upsamples each channel bilinearly (FCN)."""
    k, _, out, inp = shape
    centre = (k - 1) / 2 if k % 2 else k / 2 - 0.5
    factor = 1 - np.abs(np.arange(k) - centre) / ((k + 1) // 2)
    kernel = np.zeros(shape, np.float32)
    for c in range(min(out, inp)):
        kernel[:, :, c, c] = np.outer(factor, factor)
    return kernel


def fcn8_head(pools: list, channels: int, prefix: str = "", bias: float = 0.0
              ) -> keras.KerasTensor:
    """FCN-8's decoder: 1x1 scores on pool3/4/5, x2 up + pool4, x2 up + pool3, x8 up
    (upsampling starts bilinear; the three score biases start at `bias` / 3 each; the
    score kernels of a `prefix`ed head start at zero)."""
    pool3, pool4, pool5 = pools

    def score(pool, n: int):
        # a new head starts silent (zero kernels): its first gradients must not upset the trunk
        return layers.Conv2D(channels, 1, name=f"{prefix}score_pool{n}",
                             kernel_initializer="zeros" if prefix else "glorot_uniform",
                             bias_initializer=keras.initializers.Constant(bias / 3))(pool)

    def up(x, n: int, stride: int):
        return layers.Conv2DTranspose(channels, 2 * stride, strides=stride, padding="same",
                                      use_bias=False, kernel_initializer=bilinear,
                                      name=f"{prefix}up_pool{n}")(x)

    x = layers.Add(name=f"{prefix}add_pool4")([up(score(pool5, 5), 5, 2), score(pool4, 4)])
    x = layers.Add(name=f"{prefix}add_pool3")([up(x, 4, 2), score(pool3, 3)])
    return up(x, 3, 8)


def build_fcn8(width: float = 0.5, classes: int = NUM_CLASSES, batch_norm: bool = False,
               centres: bool = False, deep_width: float | None = None) -> keras.Model:
    """FCN-8: input (N, H, W, 1) grey values 0-255, ink bright; H, W multiples of 32.

    Output `probabilities`: per-pixel softmax over `classes` at input resolution. `width`
    scales every block's filters (1.0 = the course lab); `deep_width`, if given, those of
    blocks 4 and 5 (stride 16 and 32: where a digit's class is seen whole, at a small
    share of the FLOPs). With `centres`, two more outputs
    from heads of the same shape: `centres`, the probability that a pixel is a digit's
    centre (a Gaussian peak per digit), and `sizes`, log2 of that digit's height over
    the model's digit height.
    """
    image = keras.Input((None, None, 1), name="image")
    x = layers.Rescaling(1.0 / 255.0)(image)
    pools = []
    for block, (filters, convs) in enumerate(zip(LAB_FILTERS, BLOCK_CONVS, strict=True), 1):
        scale = deep_width if deep_width is not None and block > 3 else width
        for i in range(convs):
            x = layers.Conv2D(max(8, int(filters * scale)), 3, padding="same",
                              use_bias=not batch_norm, name=f"block{block}_conv{i + 1}")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{block}_bn{i + 1}")(x)
            x = layers.ReLU(name=f"block{block}_relu{i + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        pools.append(x)
    probs = layers.Softmax(name="probabilities")(fcn8_head(pools[2:], classes))
    name = f"fcn8{'c' if centres else ''}_w{width:g}" + ("" if deep_width is None else f"_d{deep_width:g}")
    if not centres:
        return keras.Model(image, probs, name=name)
    centre = layers.Activation("sigmoid", name="centres")(fcn8_head(pools[2:], 1, "centre_", -2.2))
    size = layers.Activation("linear", name="sizes")(fcn8_head(pools[2:], 1, "size_"))
    outputs = {"probabilities": probs, "centres": centre, "sizes": size}
    return keras.Model(image, outputs, name=name)
