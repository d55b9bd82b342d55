"""The bundled default model (`default.onnx`) and the other precision shipped beside it."""

from pathlib import Path

DEFAULT_MODEL: Path = Path(__file__).with_name("default.onnx")
ALTERNATE_NAMES: dict[str, str] = {"fp32": "default.fp32.onnx", "int8": "default.int8.onnx"}
