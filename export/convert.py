"""Keras checkpoint -> ONNX through tf2onnx, wrapped to the runner's contract.

The wrapped graph takes `image` uint8 [N, H, W, 1] (ink bright, background removed) and
returns `labels` uint8 [N, H, W] (argmax inside the graph) and `scores` float32
[N, H, W] (probability of that class); with centre heads also `centres` and `sizes`
float32 [N, H, W]; `probabilities` [N, H, W, 11] only on request (`fcn8_ocr.contract`).
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

import fcn8_ocr
from fcn8_ocr.contract import (
    CENTRES,
    DEFAULT_CENTRE_RULE,
    INPUT,
    LABELS,
    PROBABILITIES,
    SCORES,
    SIZES,
)
from fcn8_ocr.write import atomic_write

from .metadata import contract_metadata, set_metadata
from .parity import check_parity


def subpixel_kernel(transposed: np.ndarray, stride: int) -> np.ndarray:
    """Weights of a 3x3 conv whose depth-to-space by `stride` equals a 'same'
    Conv2DTranspose with kernel 2 x stride (the FCN-8 x8 head).

    Output pixel `stride*m + a` of the transposed conv takes input rows m-1, m, m+1 with
    kernel tap `t = -stride*d + a + stride//2` (d = -1, 0, 1) where 0 <= t < 2*stride;
    ONNX Runtime runs the conv + DepthToSpace several times faster than ConvTranspose.
    """
    k, _, c_out, c_in = transposed.shape
    assert k == 2 * stride, "only kernel = 2 x stride"
    kernel = np.zeros((3, 3, c_in, stride, stride, c_out), np.float32)
    for dy in range(3):
        for dx in range(3):
            for a in range(stride):
                for b in range(stride):
                    ty = -stride * (dy - 1) + a + stride // 2
                    tx = -stride * (dx - 1) + b + stride // 2
                    if 0 <= ty < k and 0 <= tx < k:
                        kernel[dy, dx, :, a, b, :] = transposed[ty, tx].T
    return kernel.reshape(3, 3, c_in, stride * stride * c_out)


def _upsampler(model: keras.Model, prefix: str) -> tuple[np.ndarray, int]:
    """The sub-pixel kernel and stride replacing a head's x8 transposed convolution."""
    up = model.get_layer(f"{prefix}up_pool3")
    return subpixel_kernel(up.get_weights()[0], up.strides[0]), up.strides[0]


def wrap(model: keras.Model, digit_height: float = 24.0) -> tf.function:
    """uint8 image -> (labels, scores, probabilities[, centres, sizes]) around the trained model.

    Exact rewrites for speed, checked by the parity test against Keras: the x8 transposed
    convolution becomes a 3x3 conv + depth-to-space; labels/scores come from the logits
    (argmax of logits = argmax of probabilities; the winning probability is
    1 / sum(exp(logits - max))), and are taken per sub-pixel before the depth-to-space, so
    that only they, not the 11 logits, are moved to full resolution. The full-resolution
    Softmax feeds only the optional `probabilities` output. A model with centre heads also
    gives `centres` (sigmoid) and `sizes` (digit height in model pixels,
    `digit_height` x 2^output).
    """
    prefixes = ["", "centre_", "size_"] if isinstance(model.output, dict) else [""]
    head = keras.Model(model.inputs, [model.get_layer(f"{p}add_pool3").output for p in prefixes])
    ups = [_upsampler(model, p) for p in prefixes]  # graph constants, not captures

    def subpixels(low: tf.Tensor, kernel: np.ndarray) -> tf.Tensor:
        return tf.nn.conv2d(low, tf.constant(kernel), 1, "SAME")

    def upsample(low: tf.Tensor, kernel: np.ndarray, stride: int) -> tf.Tensor:
        return tf.nn.depth_to_space(subpixels(low, kernel), stride)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name=INPUT)])
    def wrapped(image: tf.Tensor) -> dict[str, tf.Tensor]:
        lows = head(tf.cast(image, tf.float32), training=False)
        lows = lows if isinstance(lows, list | tuple) else [lows]
        kernel, stride = ups[0]
        sub = subpixels(lows[0], kernel)  # (N, h, w, stride² x classes): depth-to-space order
        # channels first, as the ONNX conv gives them (tf2onnx cancels the transposes), so
        # each reduction runs over whole planes
        shape = tf.shape(sub)
        logits = tf.reshape(tf.transpose(sub, [0, 3, 1, 2]),
                            [shape[0], stride * stride, -1, shape[1], shape[2]])
        top = tf.reduce_max(logits, axis=2, keepdims=True)

        def to_pixels(planes: tf.Tensor) -> tf.Tensor:  # (N, stride², h, w) -> (N, H, W)
            return tf.nn.depth_to_space(tf.transpose(planes, [0, 2, 3, 1]), stride)[..., 0]

        # depth-to-space on float: CUDA and other runtimes have no uint8 kernel for it
        winner = tf.cast(tf.argmax(logits, axis=2), tf.float32)
        out = {LABELS: tf.cast(to_pixels(winner), tf.uint8),
               SCORES: to_pixels(1.0 / tf.reduce_sum(tf.exp(logits - top), axis=2)),
               PROBABILITIES: tf.nn.softmax(tf.nn.depth_to_space(sub, stride))}
        if len(lows) == 3:
            out[CENTRES] = tf.sigmoid(upsample(lows[1], *ups[1]))[..., 0]
            out[SIZES] = digit_height * tf.pow(2.0, upsample(lows[2], *ups[2])[..., 0])
        return {name: tf.identity(value, name=name) for name, value in out.items()}

    return wrapped


def _prune(proto: onnx.ModelProto) -> None:
    """Drop nodes that no graph output depends on (after removing an output)."""
    needed = {o.name for o in proto.graph.output}
    kept = []
    for node in reversed(proto.graph.node):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(node.input)
    del proto.graph.node[:]
    proto.graph.node.extend(reversed(kept))
    used = {i for n in proto.graph.node for i in n.input}
    inits = [t for t in proto.graph.initializer if t.name in used]
    del proto.graph.initializer[:]
    proto.graph.initializer.extend(inits)


def _rename_outputs(proto: onnx.ModelProto) -> None:
    """Give graph outputs the contract's plain names (tf2onnx appends ':0' and prefixes)."""
    for output in proto.graph.output:
        for name in (LABELS, SCORES, PROBABILITIES, CENTRES, SIZES):
            if name in output.name and output.name != name:
                old = output.name
                for node in proto.graph.node:
                    node.output[:] = [name if o == old else o for o in node.output]
                    node.input[:] = [name if i == old else i for i in node.input]
                output.name = name


def _name_dims(proto: onnx.ModelProto) -> None:
    """Readable names for the dynamic dimensions: batch, height, width."""
    for value in list(proto.graph.input) + list(proto.graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, ("batch", "height", "width"), strict=False):
            if not dim.dim_value:
                dim.dim_param = name


def export_onnx(model: keras.Model, out: str | Path, digit_height: float, opset: int = 17,
                probabilities: bool = False, training: dict | None = None,
                metrics: dict | None = None, check: bool = True) -> dict:
    """Convert, check parity against Keras, write `out` atomically; returns the parity report.

    Raises `ParityError` (and writes nothing) when the ONNX model disagrees with Keras.
    """
    out = Path(out)
    spec = (tf.TensorSpec([None, None, None, 1], tf.uint8, name=INPUT),)
    proto, _ = tf2onnx.convert.from_function(wrap(model, digit_height), input_signature=spec,
                                             opset=opset)
    _rename_outputs(proto)
    _name_dims(proto)
    proto.producer_name = "fcn8-ocr"
    proto.producer_version = fcn8_ocr.__version__
    proto.doc_string = "FCN-8 handwritten digit segmentation; see docs/onnx.md"
    centres = any(o.name == CENTRES for o in proto.graph.output)
    set_metadata(proto, {**contract_metadata(digit_height, training, metrics,
                                             DEFAULT_CENTRE_RULE if centres else None),
                         "opset": opset})
    report = check_parity(model, proto) if check else {}
    if not probabilities:
        kept = [o for o in proto.graph.output if o.name != PROBABILITIES]
        del proto.graph.output[:]
        proto.graph.output.extend(kept)
        _prune(proto)
    onnx.checker.check_model(proto)
    atomic_write(out, proto.SerializeToString())
    return report


def load_keras(weights: str | Path) -> keras.Model:
    """A checkpoint written by `fcn8-ocr train` (custom loss not needed for inference)."""
    from fcn8_ocr.train import model  # noqa: F401  (registers the custom initialiser)

    return keras.models.load_model(weights, compile=False)


def export_checkpoint(weights: str | Path, out: str | Path, opset: int = 17,
                      probabilities: bool = False, metrics_path: str | Path | None = None) -> dict:
    """Export a `fcn8-ocr train` checkpoint with the training facts found beside it."""
    from fcn8_ocr.train.tiles import MODEL_DIGIT_HEIGHT

    weights = Path(weights)
    training_path = weights.with_name("training.json")
    training = json.loads(training_path.read_text()) if training_path.is_file() else {}
    metrics = json.loads(Path(metrics_path).read_text()) if metrics_path else {}
    model = load_keras(weights)
    return export_onnx(model, out, float(training.get("digit_height", MODEL_DIGIT_HEIGHT)),
                       opset, probabilities, training, metrics)
