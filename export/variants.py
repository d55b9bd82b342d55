"""fp32 -> int8 / fp16 variants, each checked against the fp32 model it came from."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from fcn8_ocr.config import INT8_CALIBRATION_TILES
from fcn8_ocr.write import atomic_write

from .parity import parity_inputs


def compare(reference: Path, candidate: Path, providers: list[str], images: np.ndarray | None = None,
            repeats: int = 3) -> dict:
    """Share of pixels with the same label, max score difference and timing of both."""
    images = parity_inputs(seed=5, count=4, size=(256, 256)) if images is None else images
    out = {}
    for name, path in (("reference", reference), ("candidate", candidate)):
        session = ort.InferenceSession(str(path), providers=providers)
        session.run(None, {"image": images})
        start = time.perf_counter()
        for _ in range(repeats):
            labels, scores = session.run(["labels", "scores"], {"image": images})
        out[name] = {"labels": labels, "scores": scores,
                     "seconds": (time.perf_counter() - start) / repeats}
    ref, cand = out["reference"], out["candidate"]
    return {"same_class": float((ref["labels"] == cand["labels"]).mean()),
            "max_score_diff": float(np.abs(ref["scores"] - cand["scores"]).max()),
            "reference_s": ref["seconds"], "candidate_s": cand["seconds"],
            "speedup": ref["seconds"] / max(cand["seconds"], 1e-9), "providers": providers}


def write_variant(fp32: Path, out: Path, kind: str, calibration: str = "synth",
                  calibration_tiles: int = INT8_CALIBRATION_TILES) -> dict | None:
    """Write the `kind` ("int8" or "fp16") variant of `fp32` to `out` and compare it with
    `fp32` (`compare`); None for fp16 where no CUDA provider can check it."""
    if kind == "int8":
        from .quantize import quantize_int8

        quantize_int8(fp32, out, calibration, count=calibration_tiles)
        return compare(fp32, out, ["CPUExecutionProvider"])
    to_fp16(fp32, out)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return None
    return compare(fp32, out, ["CUDAExecutionProvider"])


def to_fp16(fp32: Path, out: Path) -> Path:
    """fp16 weights and activations for CUDA; uint8 input and labels/scores types kept."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    proto = convert_float_to_float16(onnx.load(fp32), keep_io_types=True)
    atomic_write(out, proto.SerializeToString())
    return out
