"""The model contract in one place (see docs/onnx.md): graph input and output names, the
`fcn8_ocr.*` metadata_props the runner reads, and `ModelInfo`, what the runner knows of a
model. Export writes it, the runner and the Keras predictor read it; numpy only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .classes import BACKGROUND, CLASS_NAMES, IGNORE

META_PREFIX = "fcn8_ocr."
REQUIRED_META = ("classes", "background_id", "input_polarity", "stride", "digit_height")
STRIDE = 32  # input sides must be multiples of this

INPUT = "image"          # uint8 [N, H, W, 1], ink bright, paper removed, digits ~digit_height tall
LABELS = "labels"        # uint8 [N, H, W]: class id per pixel
SCORES = "scores"        # float32 [N, H, W]: probability of that class
CENTRES = "centres"      # float32 [N, H, W]: probability that a pixel is a digit's centre
SIZES = "sizes"          # float32 [N, H, W]: height in model pixels of the digit centred there
PROBABILITIES = "probabilities"  # float32 [N, H, W, classes], on request only
REQUIRED_OUTPUTS = (LABELS, SCORES)
INSTANCE_OUTPUTS = (CENTRES, SIZES)


class ModelError(Exception):
    """The model cannot be loaded or used as asked (exit code 3)."""


@dataclass(frozen=True)
class CentreRule:
    """How the runner reads a model's `centres` and `sizes` (metadata key `centres`; these
    defaults for files without it). Lengths are in digit heights (the size at the peak)."""

    # centre-map peaks at least this high are digits
    threshold: float = 0.25
    # (across, down): a weaker peak this close to a stronger one is the same digit
    same_digit: tuple[float, float] = (0.55, 0.8)
    # across offsets are measured along a hand leaning this much (dx per dy)
    slant: float = 0.3
    # (across, down): a digit pixel this close to a peak is that digit's
    reach: tuple[float, float] = (0.75, 0.9)
    # classes written as one stroke (a 1): a peak beside one of them is the same digit only
    # closer than `narrow_across` (not same_digit's across): two such digits stand close
    narrow: tuple[int, ...] = (1,)
    narrow_across: float = 0.4
    # (across, down): two peaks over digit pixels of two different classes that stand side
    # by side (closer than `down`) are the same digit only closer than `across`: narrow
    # register digits stand under 0.55 heights apart on one baseline, while the head and
    # tail of one slanted digit lie one above the other
    other_class: tuple[float, float] = (0.2, 0.25)

    def to_json(self) -> dict:
        """The metadata value (JSON-ready)."""
        return {"threshold": self.threshold, "same_digit": list(self.same_digit),
                "slant": self.slant, "reach": list(self.reach), "narrow": list(self.narrow),
                "narrow_across": self.narrow_across, "other_class": list(self.other_class)}


DEFAULT_CENTRE_RULE = CentreRule()


def _centre_rule(value: object, path: str) -> CentreRule:
    """`CentreRule` from the `centres` metadata value; ModelError when it is malformed."""
    if value is None:
        return DEFAULT_CENTRE_RULE
    defaults = DEFAULT_CENTRE_RULE.to_json()
    if not isinstance(value, dict) or set(value) - set(defaults):
        raise ModelError(f"{path}: metadata centres must be an object with keys "
                         f"{', '.join(defaults)}, not {value!r}")
    merged = {**defaults, **value}

    def number(x: object) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 10

    pairs_ok = all(isinstance(merged[k], list) and len(merged[k]) == 2
                   and all(number(x) and x > 0 for x in merged[k])
                   for k in ("same_digit", "reach", "other_class"))
    narrow_ok = isinstance(merged["narrow"], list) and all(
        isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 255 for x in merged["narrow"])
    if not (pairs_ok and narrow_ok and number(merged["slant"]) and number(merged["threshold"])
            and 0 < merged["threshold"] <= 1 and number(merged["narrow_across"])
            and merged["narrow_across"] > 0):
        raise ModelError(f"{path}: metadata centres has values out of range: {value!r}")
    return CentreRule(float(merged["threshold"]), tuple(map(float, merged["same_digit"])),
                      float(merged["slant"]), tuple(map(float, merged["reach"])),
                      tuple(merged["narrow"]), float(merged["narrow_across"]),
                      tuple(map(float, merged["other_class"])))


@dataclass(frozen=True)
class ModelInfo:
    """What the runner needs from a model: its metadata and which outputs it has."""

    classes: list[str]
    background_id: int
    input_polarity: str
    normalisation: str
    stride: int
    digit_height: float
    outputs: tuple[str, ...] = REQUIRED_OUTPUTS
    centre_rule: CentreRule = DEFAULT_CENTRE_RULE
    extra: dict = field(default_factory=dict)

    @property
    def instances(self) -> bool:
        """True when the model finds digit centres and sizes (one region per digit)."""
        return all(name in self.outputs for name in INSTANCE_OUTPUTS)


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


def model_info(meta: dict, outputs: list[str] | tuple[str, ...] = REQUIRED_OUTPUTS,
               path: str = "model") -> ModelInfo:
    """`ModelInfo` from decoded metadata and the graph's output names; ModelError when the
    contract is not met."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ModelError(f"{path}: metadata lacks {', '.join(META_PREFIX + k for k in missing)}"
                         " (not an fcn8-ocr export?)")
    lacking = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if lacking:
        raise ModelError(f"{path}: outputs {list(outputs)} lack {', '.join(map(repr, lacking))}")
    if sum(name in outputs for name in INSTANCE_OUTPUTS) == 1:
        raise ModelError(f"{path}: outputs {list(outputs)} have one of "
                         f"{' and '.join(INSTANCE_OUTPUTS)} without the other")
    classes, background, stride, height = (meta["classes"], meta["background_id"],
                                           meta["stride"], meta["digit_height"])
    problems = []
    if not isinstance(classes, list) or len(classes) < 2:
        problems.append("classes must be a list of at least 2 names")
    if not isinstance(background, int) or isinstance(background, bool) or not (
            isinstance(classes, list) and 0 <= background < len(classes)):
        problems.append(f"background_id must be an integer class id, not {background!r}")
    if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
        problems.append(f"stride must be a positive integer, not {stride!r}")
    if not isinstance(height, int | float) or isinstance(height, bool) or not 1 <= height <= 1000:
        problems.append(f"digit_height must be a number of pixels (1-1000), not {height!r}")
    if meta["input_polarity"] not in ("ink_bright", "ink_dark"):
        problems.append(f"input_polarity must be ink_bright, not {meta['input_polarity']!r}")
    if problems:
        raise ModelError(f"{path}: metadata {problems[0]}")
    rule = _centre_rule(meta.get("centres"), path)
    known = set(REQUIRED_META) | {"normalisation", "centres"}
    return ModelInfo(
        classes=list(classes), background_id=background,
        input_polarity=str(meta["input_polarity"]),
        normalisation=str(meta.get("normalisation", "background_removed")),
        stride=stride, digit_height=float(height),
        outputs=tuple(o for o in (*REQUIRED_OUTPUTS, *INSTANCE_OUTPUTS) if o in outputs),
        centre_rule=rule, extra={k: v for k, v in meta.items() if k not in known})


def contract_metadata(digit_height: float, training: dict | None = None,
                      metrics: dict | None = None, version: str = "", commit: str = "",
                      centre_rule: CentreRule | None = None) -> dict[str, object]:
    """The `fcn8_ocr.*` metadata an export writes (values become JSON); `centre_rule`
    for models with centre outputs."""
    return {
        **({"centres": centre_rule.to_json()} if centre_rule else {}),
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
        "version": version,
        "git_commit": commit,
    }
