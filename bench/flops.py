"""Count the multiply-adds of an ONNX model's convolutions for a given input size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference


def conv_flops(model_path: str, height: int, width: int, batch: int = 1) -> int:
    """FLOPs (2 x multiply-adds) of every Conv and ConvTranspose for one [batch, H, W, 1] input."""
    proto = onnx.load(model_path)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (batch, height, width, 1), strict=True):
        dim.Clear()
        dim.dim_value = value
    inferred = shape_inference.infer_shapes(proto)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.output)
              + list(inferred.graph.input)}
    weights = {t.name: numpy_helper.to_array(t).shape for t in proto.graph.initializer}
    total = 0
    for node in inferred.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        kernel = weights.get(node.input[1])
        if kernel is None:  # quantized graphs: the weight comes through DequantizeLinear
            continue
        group = next((a.i for a in node.attribute if a.name == "group"), 1)
        if node.op_type == "Conv":
            out = shapes.get(node.output[0])
            if not out or 0 in out:
                continue
            c_out, c_in_g, kh, kw = kernel
            total += 2 * int(np.prod(out)) * c_in_g * kh * kw
        else:
            inp = shapes.get(node.input[0])
            if not inp or 0 in inp:
                continue
            c_in, c_out_g, kh, kw = kernel
            total += 2 * int(np.prod(inp)) * c_out_g * kh * kw // max(1, group) * group
    return total


def cpu_peak_gflops(cores: int) -> tuple[float, str]:
    """Peak fp32 GFLOP/s of this CPU from /proc/cpuinfo: 2 FMA units x 8 fp32 lanes x 2
    FLOPs per FMA per cycle (AVX2 + FMA), x clock, x cores."""
    info = Path("/proc/cpuinfo").read_text()
    mhz = max(float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz"))
    flags = next(line for line in info.splitlines() if line.startswith("flags"))
    model = next(line.split(":")[1].strip() for line in info.splitlines() if line.startswith("model name"))
    per_cycle = 32 if ("avx2" in flags and "fma" in flags) else 8
    if "avx512f" in flags:
        per_cycle = 64
    peak = per_cycle * mhz / 1000 * cores
    return peak, f"{model}: {per_cycle} FLOP/cycle/core x {mhz / 1000:.2f} GHz x {cores} cores"
