"""Start training from the weights of an exported fcn8-ocr ONNX model (e.g. the bundled one).

tf2onnx keeps the Keras layer names in its initializer names, so each encoder and score
convolution, and the x2 upsamplings, are copied by name. The x8 upsampling was exported as
a 3x3 convolution + depth-to-space (`export.convert.subpixel_kernel`) and is turned back
into its transposed-convolution kernel. Layers the file lacks (new heads) keep their
initial weights.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import onnx
from onnx import numpy_helper

_CONV = re.compile(r"/(?P<layer>[a-z0-9_]+?)_1/(?P<part>convolution/ReadVariableOp|Squeeze|"
                   r"conv_transpose/ReadVariableOp):0$")


def onnx_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{keras layer name: {"kernel"|"bias": array in Keras layout}} found in an ONNX file."""
    found: dict[str, dict[str, np.ndarray]] = {}
    subpixel = None
    for tensor in onnx.load(str(path)).graph.initializer:
        array = numpy_helper.to_array(tensor)
        match = _CONV.search(tensor.name)
        if match:
            part = "bias" if match["part"] == "Squeeze" else "kernel"
            # ONNX Conv (out, in, kh, kw) and ConvTranspose (in, out, kh, kw) -> Keras (kh, kw, ., .)
            found.setdefault(match["layer"], {})[part] = (
                array if part == "bias" else array.transpose(2, 3, 1, 0))
        elif array.ndim == 4 and array.shape[2:] == (3, 3):
            subpixel = array.transpose(2, 3, 1, 0)
    if subpixel is not None and "score_pool3" in found:
        classes = found["score_pool3"]["bias"].shape[0]
        found["up_pool3"] = {"kernel": transposed_from_subpixel(subpixel, classes)}
    return found


def transposed_from_subpixel(kernel: np.ndarray, channels: int) -> np.ndarray:
    """Inverse of `subpixel_kernel`: the (2s, 2s, c, c) Conv2DTranspose kernel of stride s."""
    c_in = kernel.shape[2]
    stride = int(round((kernel.shape[3] / channels) ** 0.5))
    taps = kernel.reshape(3, 3, c_in, stride, stride, channels)
    out = np.zeros((2 * stride, 2 * stride, channels, c_in), np.float32)
    for dy in range(3):
        for dx in range(3):
            for a in range(stride):
                for b in range(stride):
                    ty = -stride * (dy - 1) + a + stride // 2
                    tx = -stride * (dx - 1) + b + stride // 2
                    if 0 <= ty < 2 * stride and 0 <= tx < 2 * stride:
                        out[ty, tx] = taps[dy, dx, :, a, b, :].T
    return out


def keras_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{layer name: {"kernel"|"bias": array}} of a Keras checkpoint (`.keras`)."""
    from . import model as _model  # noqa: F401  (registers the custom initialiser)

    found = {}
    for layer in keras.models.load_model(path, compile=False).layers:
        current = layer.get_weights()
        if current:
            found[layer.name] = dict(zip(("kernel", "bias"), current, strict=False))
    return found


def load_onnx_weights(model: keras.Model, path: str | Path) -> list[str]:
    """Copy matching weights from `path` (an exported ONNX model, or a Keras checkpoint
    `.keras`) into `model`; returns the names of the layers set. A layer whose weights the
    file holds only in part (biases folded into constants by the export) keeps its own."""
    weights = keras_weights(path) if str(path).endswith(".keras") else onnx_weights(path)
    done = []
    for layer in model.layers:
        parts = weights.get(layer.name)
        if not parts:
            continue
        current = layer.get_weights()
        names = ("kernel", "bias")[: len(current)]
        if any(name not in parts for name in names):
            continue
        new = [parts[name] for name in names]
        if [w.shape for w in new] != [w.shape for w in current]:
            raise ValueError(f"{path}: layer {layer.name} has shape "
                             f"{[w.shape for w in new]}, the model {[w.shape for w in current]}")
        layer.set_weights(new)
        done.append(layer.name)
    return done
