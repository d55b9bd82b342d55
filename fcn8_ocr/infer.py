"""ONNX Runtime inference: the session and its providers (the contract is `contract.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .contract import ModelError, model_info, read_metadata
from .models import DEFAULT_MODEL

Outputs = dict[str, np.ndarray]  # contract output name -> (N, H, W) array

def resolve_providers(provider: str) -> list[str]:
    """onnxruntime providers for --provider auto|cpu|cuda."""
    available = ort.get_available_providers()
    if provider == "cpu":
        return ["CPUExecutionProvider"]
    if provider == "cuda":
        if "CUDAExecutionProvider" not in available:
            raise ModelError("--provider cuda: this onnxruntime has no CUDA provider "
                             "(install onnxruntime-gpu)")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if provider == "auto":
        return (["CUDAExecutionProvider", "CPUExecutionProvider"]
                if "CUDAExecutionProvider" in available else ["CPUExecutionProvider"])
    raise ModelError(f"unknown provider {provider!r}: use auto, cpu or cuda")


class OnnxModel:
    """An onnxruntime session over an fcn8-ocr model: uint8 pages in, labels/scores out."""

    def __init__(self, path: str | Path | None = None, provider: str = "auto",
                 threads: int = 0) -> None:
        self.path = Path(path) if path else DEFAULT_MODEL
        if not self.path.is_file():
            raise ModelError(f"{self.path}: model file not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # flush denormal floats to zero: the same labels, several % faster on x86 CPUs
        options.add_session_config_entry("session.set_denormal_as_zero", "1")
        try:
            self.session = ort.InferenceSession(str(self.path), options,
                                                providers=resolve_providers(provider))
        except Exception as exc:  # onnxruntime raises several unrelated types
            raise ModelError(f"{self.path}: cannot load model ({str(exc).splitlines()[0]})") from exc
        if provider == "cuda" and "CUDAExecutionProvider" not in self.session.get_providers():
            raise ModelError(f"{self.path}: CUDA was asked for but is not active "
                             f"(session providers: {self.session.get_providers()})")
        self._shrink_arena = ort.RunOptions()
        devices = "cpu:0;gpu:0" if "CUDAExecutionProvider" in self.providers else "cpu:0"
        self._shrink_arena.add_run_config_entry("memory.enable_memory_arena_shrinkage", devices)
        meta = self.session.get_modelmeta().custom_metadata_map
        outputs = [o.name for o in self.session.get_outputs()]
        self.info = model_info(read_metadata(meta), outputs, str(self.path))
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or inputs[0].type != "tensor(uint8)" or len(inputs[0].shape) != 4:
            found = [(i.name, i.type, i.shape) for i in inputs]
            raise ModelError(f"{self.path}: input must be one uint8 [batch, height, width, 1] "
                             f"tensor, not {found}")
        for output in self.session.get_outputs():
            if output.name in self.info.outputs and len(output.shape) != 3:
                raise ModelError(f"{self.path}: output {output.name!r} must be [batch, height, "
                                 f"width], not {output.shape}")
        self.input_name = inputs[0].name

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def __call__(self, batch: np.ndarray, release_memory: bool = False) -> Outputs:
        """(N, H, W) uint8 model inputs -> {labels, scores[, centres, sizes]} (N, H, W) each.
        `release_memory` hands the activations' arena back after this run (costs time;
        worth it after the last tile of a large page)."""
        names = list(self.info.outputs)
        values = self.session.run(names, {self.input_name: batch[..., None]},
                                  self._shrink_arena if release_memory else None)
        return dict(zip(names, values, strict=True))


def default_threads(workers: int) -> int:
    """Intra-op threads per worker so that workers x threads does not exceed the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, workers))


def load_predictor(model: str | Path | None, provider: str = "auto", threads: int = 0):
    """A predictor with `info` for an .onnx model (default: bundled), or for a .keras
    checkpoint (Keras `predict` + numpy argmax; needs the `[train]` extra)."""
    if model is not None and str(model).endswith(".keras"):
        if not Path(model).is_file():
            raise ModelError(f"{model}: model file not found")
        from .train.keras_predictor import KerasPredictor

        try:
            return KerasPredictor(model)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{model}: cannot load Keras checkpoint "
                             f"({str(exc).strip().splitlines()[0] if str(exc).strip() else exc})") from exc
    return OnnxModel(model, provider, threads)
