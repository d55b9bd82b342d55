"""The model contract's metadata_props (onnx only, no TensorFlow): see docs/onnx.md."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import onnx

import fcn8_ocr
from fcn8_ocr.classes import BACKGROUND, CLASS_NAMES, IGNORE
from fcn8_ocr.infer import META_PREFIX

STRIDE = 32


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def contract_metadata(digit_height: float, training: dict | None = None,
                      metrics: dict | None = None) -> dict[str, object]:
    """The `fcn8_ocr.*` metadata_props the runner reads (values are JSON)."""
    return {
        "classes": list(CLASS_NAMES),
        "background_id": BACKGROUND,
        "ignore_id": IGNORE,
        "input_polarity": "ink_bright",
        "normalisation": "background_removed",
        "input_multiple": STRIDE,
        "stride": STRIDE,
        "digit_height": digit_height,
        "training": training or {},
        "metrics": metrics or {},
        "version": fcn8_ocr.__version__,
        "git_commit": git_commit(),
    }


def set_metadata(proto: onnx.ModelProto, metadata: dict[str, object]) -> None:
    """Set `fcn8_ocr.<key>` entries (JSON values), replacing those keys, keeping the rest."""
    keys = {META_PREFIX + k for k in metadata}
    keep = [p for p in proto.metadata_props if p.key not in keys]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for key, value in metadata.items():
        proto.metadata_props.add(key=META_PREFIX + key, value=json.dumps(value, sort_keys=True))
