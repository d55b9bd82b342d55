"""fcn8-ocr: segment handwritten digits on scanned pages with an FCN-8 ONNX model.

    from fcn8_ocr import Segmenter
    pages = Segmenter()("scan.png")        # one Result per page: regions, strings, crops

The runtime package needs only onnxruntime, numpy, opencv and click; the training
(`fcn8_ocr.train`) and export (`fcn8_ocr.export`) subpackages need the `[train]` extra.
"""

import os

# OpenCV's own log lines would mix with the tool's one line per error on stderr
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

__version__ = "0.1.0"
__all__ = ["InputError", "ModelError", "Options", "Result", "Segmenter", "__version__"]
_PUBLIC = {"Segmenter": "segmenter", "Result": "segmenter", "Options": "config",
           "InputError": "read", "ModelError": "contract"}


def __getattr__(name: str) -> object:
    """The public API, imported on first use (the CLI starts without onnxruntime)."""
    if name in _PUBLIC:
        import importlib

        return getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
