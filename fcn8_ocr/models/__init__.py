"""The bundled default model (`default.onnx`)."""

from pathlib import Path

DEFAULT_MODEL: Path = Path(__file__).with_name("default.onnx")
