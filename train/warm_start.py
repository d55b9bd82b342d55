"""Start training from the weights of an exported fcn8-ocr ONNX model (e.g. the bundled one).

tf2onnx keeps the Keras layer names in its kernels' names, so each encoder and score
convolution, and the x2 upsamplings, are copied by name, with the bias each node adds.
Each head's x8 upsampling was exported as a 3x3 convolution + depth-to-space
(`export.convert.subpixel_kernel`) and is turned back into its transposed-convolution
kernel. Layers the file lacks (new heads) keep their initial weights. An int8 (QDQ) file's
weights are read dequantized, as its int8 model uses them; its fp32 original
(`default.fp32.onnx` beside an int8 `default.onnx`) is the exact start.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import onnx
from onnx import numpy_helper

_KERNEL = re.compile(r"/(?P<layer>[a-z0-9_]+?)_1/(?:convolution|conv_transpose)/ReadVariableOp:0$")
_X8_INPUT = re.compile(r"/(?P<prefix>[a-z]+_|)add_pool3_1/")  # what each head's x8 upsampling reads


def onnx_weights(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """{keras layer name: {"kernel"|"bias": array in Keras layout}} found in an ONNX file.

    Read from the graph's Conv and ConvTranspose nodes: a node's kernel is named after its
    Keras layer, its bias is its third input whatever the export named it. A head's x8
    upsampling (conv + DepthToSpace) is named by the `add_pool3` it reads.
    """
    graph = onnx.load(str(path)).graph
    stored = constants(graph)
    producer = {out: node for node in graph.node for out in node.output}
    found: dict[str, dict[str, np.ndarray]] = {}
    subpixels: dict[str, np.ndarray] = {}  # x8 layer name -> its 3x3 sub-pixel kernel
    for node in graph.node:
        if node.op_type not in ("Conv", "ConvTranspose") or node.input[1] not in stored:
            continue
        # ONNX Conv (out, in, kh, kw) and ConvTranspose (in, out, kh, kw) -> Keras (kh, kw, ., .)
        name, values = stored[node.input[1]]
        kernel = values.transpose(2, 3, 1, 0)
        match = _KERNEL.search(name)
        if match:
            layer = found.setdefault(match["layer"], {})
            layer["kernel"] = kernel
            if len(node.input) > 2 and node.input[2] in stored:
                layer["bias"] = stored[node.input[2]][1].reshape(-1)
            continue
        source = producer.get(node.input[0])
        head = _X8_INPUT.search(source.name) if source is not None else None
        if head and kernel.shape[:2] == (3, 3):
            subpixels[f"{head['prefix']}up_pool3"] = kernel
    for name, kernel in subpixels.items():  # channels: those of the head's score layers
        channels = found[name.replace("up_pool3", "score_pool3")]["kernel"].shape[-1]
        found[name] = {"kernel": transposed_from_subpixel(kernel, channels)}
    return found


QUANTIZED_SUFFIX = "_quantized"  # onnxruntime's name for an initializer's int8 copy


def constants(graph: onnx.GraphProto) -> dict[str, tuple[str, np.ndarray]]:
    """{tensor name: (the name it was exported under, values)} of the graph's initializers
    and of its DequantizeLinear nodes over initializers (an int8 file's weights and biases,
    read back in float32 as the int8 model uses them)."""
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    found = {name: (name, values) for name, values in stored.items()}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or not all(i in stored for i in node.input):
            continue
        quantized, scale = stored[node.input[0]], stored[node.input[1]].astype(np.float32)
        zero = stored[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.float32(0)
        if scale.ndim == 1:  # per channel: along `axis` (a bias's only one)
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            shape = [1] * quantized.ndim
            shape[axis if quantized.ndim > 1 else 0] = -1
            scale, zero = scale.reshape(shape), np.reshape(zero, shape if zero.ndim else ())
        name = node.input[0].removesuffix(QUANTIZED_SUFFIX)
        found[node.output[0]] = (name, (quantized.astype(np.float32) - zero) * scale)
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


def widened(stored: np.ndarray, current: np.ndarray) -> np.ndarray | None:
    """`stored` (kernel (.., in, out) or bias (out,)) placed in a layer with more input or
    output channels: its own weights where it has them, zero from the new inputs to the
    old outputs (so the layer's old outputs are what they were), the layer's `current`
    (fresh) weights for the new outputs. None where the shapes do not nest."""
    if stored.ndim != current.ndim or (stored.ndim > 1 and stored.shape[:-2] != current.shape[:-2]):
        return None
    if any(a > b for a, b in zip(stored.shape, current.shape, strict=True)):
        return None
    if stored.ndim == 1:
        out = current.copy()
        out[: stored.shape[0]] = stored
        return out
    c_in, c_out = stored.shape[-2:]
    out = current.copy()
    out[..., :c_out] = 0.0
    out[..., :c_in, :c_out] = stored
    return out


def load_onnx_weights(model: keras.Model, path: str | Path) -> list[str]:
    """Copy matching weights from `path` (an exported ONNX model, or a Keras checkpoint
    `.keras`) into `model`; returns the names of the layers set. A layer whose weights the
    file holds only in part (biases folded into constants by the export) keeps its own.
    Into a wider model (`build_fcn8(deep_width=...)`), each narrower layer is `widened`:
    the wider model starts with the file's outputs and the new filters free to learn."""
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
        widens = isinstance(layer, keras.layers.Conv2D)  # (kh, kw, in, out) kernels only
        new = []
        for name, w in zip(names, current, strict=True):
            stored = parts[name]
            new.append(stored if stored.shape == w.shape else widened(stored, w) if widens else None)
        if any(w is None for w in new):
            raise ValueError(f"{path}: layer {layer.name} has shape "
                             f"{[parts[n].shape for n in names]}, the model {[w.shape for w in current]}")
        layer.set_weights(new)
        done.append(layer.name)
    return done
