"""The bundled default model (`default.onnx`) and the other precision shipped beside it."""

from pathlib import Path

DEFAULT_MODEL: Path = Path(__file__).with_name("default.onnx")
ALTERNATE_NAMES: dict[str, str] = {"fp32": "default.fp32.onnx", "int8": "default.int8.onnx"}


def bundled_files() -> dict[str, Path]:
    """The bundled files by precision ("fp32", "int8"): `default.onnx` is the precision
    whose alternate name is not beside it (fp32 when neither is)."""
    beside = {p: DEFAULT_MODEL.with_name(n) for p, n in ALTERNATE_NAMES.items()}
    found = {p: path for p, path in beside.items() if path.is_file()}
    missing = next((p for p in ALTERNATE_NAMES if p not in found), None)
    if DEFAULT_MODEL.is_file() and missing:
        found[missing] = DEFAULT_MODEL
    return found
