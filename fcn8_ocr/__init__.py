"""fcn8-ocr: segment handwritten digits on scanned pages with an FCN-8 ONNX model.

The runtime package needs only onnxruntime, numpy, opencv and click; the training
(`fcn8_ocr.train`) and export (`fcn8_ocr.export`) subpackages need the `[train]` extra.
"""

import os

# OpenCV's own log lines would mix with the tool's one line per error on stderr
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

__version__ = "0.1.0"
