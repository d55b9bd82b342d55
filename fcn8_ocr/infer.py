"""ONNX Runtime inference: the session, its providers, and the model's metadata contract."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .models import DEFAULT_MODEL

META_PREFIX = "fcn8_ocr."
REQUIRED_META = ("classes", "background_id", "input_polarity", "stride", "digit_height")


class ModelError(Exception):
    """The model cannot be loaded or used as asked (exit code 3)."""


@dataclass(frozen=True)
class ModelInfo:
    """What the runner needs from the model's `metadata_props` (see docs/onnx.md)."""

    classes: list[str]
    background_id: int
    input_polarity: str
    normalisation: str
    stride: int
    digit_height: float
    extra: dict = field(default_factory=dict)


def read_metadata(props: dict[str, str]) -> dict:
    """Decode `fcn8_ocr.*` metadata_props (JSON values) into a dict without the prefix."""
    out = {}
    for key, value in props.items():
        if key.startswith(META_PREFIX):
            try:
                out[key[len(META_PREFIX):]] = json.loads(value)
            except json.JSONDecodeError:
                out[key[len(META_PREFIX):]] = value
    return out


def model_info(meta: dict, path: str = "model") -> ModelInfo:
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ModelError(f"{path}: metadata lacks {', '.join(META_PREFIX + k for k in missing)}"
                         " (not an fcn8-ocr export?)")
    known = set(REQUIRED_META) | {"normalisation"}
    return ModelInfo(
        classes=list(meta["classes"]), background_id=int(meta["background_id"]),
        input_polarity=str(meta["input_polarity"]),
        normalisation=str(meta.get("normalisation", "background_removed")),
        stride=int(meta["stride"]), digit_height=float(meta["digit_height"]),
        extra={k: v for k, v in meta.items() if k not in known})


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


class Segmenter:
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
        self.info = model_info(read_metadata(meta), str(self.path))
        self.input_name = self.session.get_inputs()[0].name
        outputs = [o.name for o in self.session.get_outputs()]
        if "labels" not in outputs or "scores" not in outputs:
            raise ModelError(f"{self.path}: outputs {outputs} lack 'labels' and 'scores'")

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def __call__(self, batch: np.ndarray, release_memory: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(N, H, W) uint8 model inputs -> labels (N, H, W) uint8, scores (N, H, W) float32.
        `release_memory` hands the activations' arena back after this run (costs time;
        worth it after the last tile of a large page)."""
        labels, scores = self.session.run(["labels", "scores"], {self.input_name: batch[..., None]},
                                          self._shrink_arena if release_memory else None)
        return labels, scores


def default_threads(workers: int) -> int:
    """Intra-op threads per worker so that workers x threads does not exceed the cores."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, workers))


def load_predictor(model: str | Path | None, provider: str = "auto", threads: int = 0):
    """A predictor with `info` for an .onnx model (default: bundled), or for a .keras
    checkpoint (Keras `predict` + numpy argmax; needs the `[train]` extra)."""
    if model is not None and str(model).endswith(".keras"):
        from .train.keras_predictor import KerasPredictor

        return KerasPredictor(model)
    return Segmenter(model, provider, threads)
