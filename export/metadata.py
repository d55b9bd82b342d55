"""Writing the model contract's metadata_props into an ONNX file (the keys and their
meaning live in `fcn8_ocr.contract`; see docs/onnx.md)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import onnx

import fcn8_ocr
from fcn8_ocr.contract import META_PREFIX, CentreRule
from fcn8_ocr.contract import contract_metadata as _contract


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def contract_metadata(digit_height: float, training: dict | None = None,
                      metrics: dict | None = None, centre_rule: CentreRule | None = None
                      ) -> dict[str, object]:
    """The `fcn8_ocr.*` metadata_props of an export made now, from this checkout
    (`centre_rule` for a model with centre outputs)."""
    return _contract(digit_height, training, metrics, fcn8_ocr.__version__, git_commit(),
                     centre_rule)


def set_metadata(proto: onnx.ModelProto, metadata: dict[str, object]) -> None:
    """Set `fcn8_ocr.<key>` entries (JSON values), replacing those keys, keeping the rest."""
    keys = {META_PREFIX + k for k in metadata}
    keep = [p for p in proto.metadata_props if p.key not in keys]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    for key, value in metadata.items():
        proto.metadata_props.add(key=META_PREFIX + key, value=json.dumps(value, sort_keys=True))
