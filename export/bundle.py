"""Make the bundled default model from a training run:

    python -m fcn8_ocr.export.bundle --run runs/default --m2nist-test data/m2nist-test \\
        --m2nist-overlap-test data/m2nist-overlap-test --document-test data/document-test \\
        --field-test data/field-test

exports fp32 (parity-checked), evaluates it on the test sets with the runner's own
pipeline, re-exports with those figures in its metadata, quantizes to int8, evaluates
and times that too, and writes `fcn8_ocr/models/default.onnx` (+ `default.int8.onnx`).
int8 becomes the default only if it loses at most 0.01 on every test set (mean digit IoU,
or string accuracy for `--field-test`) and is faster; `--default fp32` (or `int8`) settles
it instead, where figures beyond the test sets (the real sets, an A4 page) decide.
`--fp32 FILE` instead of `--run` starts from an fp32 file already exported (the bundled
one, say): its int8 file is made again and both are measured again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import onnx

from fcn8_ocr.config import INT8_CALIBRATION_TILES
from fcn8_ocr.evaluate import evaluate
from fcn8_ocr.models import ALTERNATE_NAMES, DEFAULT_MODEL

from .convert import export_checkpoint
from .metadata import set_metadata
from .quantize import quantize_int8

MAX_INT8_IOU_LOSS = 0.01


FIGURES = ("mean_digit_iou", "mean_digit_dice", "background_iou", "pixel_accuracy",
           "string_accuracy", "count_accuracy", "cer", "images")


def headline(figures: dict) -> float:
    """The figure a test set is judged by: mean digit IoU (masks) or string accuracy."""
    return figures.get("mean_digit_iou", figures.get("string_accuracy")) or 0.0


def _figures(model: Path, tests: dict[str, Path]) -> dict:
    out = {}
    for name, data in tests.items():
        start = time.perf_counter()
        report = evaluate(model, data)
        # with the path and fingerprint of the set: which drawing of it the figures are on
        out[name] = {k: report[k] for k in (*FIGURES, "data", "fingerprint") if k in report}
        out[name]["seconds"] = round(time.perf_counter() - start, 2)
    return out


def _set_metrics(model: Path, figures: dict) -> None:
    proto = onnx.load(model)
    set_metadata(proto, {"metrics": figures})
    onnx.save(proto, model)


def bundle(run: Path | None, tests: dict[str, Path], target: Path = DEFAULT_MODEL,
           checkpoint: str = "best.keras", default: str = "auto", fp32_file: Path | None = None,
           calibration_tiles: int = INT8_CALIBRATION_TILES) -> dict:
    """Bundle `run`'s `checkpoint`, or with `fp32_file` an fp32 model already exported (such
    as the bundled one: its int8 file made and both measured again, no Keras needed)."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        fp32 = tmp / "fp32.onnx"
        if fp32_file is None:
            weights = run / checkpoint
            export_checkpoint(weights, fp32)
            fp32_figures = _figures(fp32, tests)
            metrics_path = tmp / "metrics.json"
            metrics_path.write_text(json.dumps(fp32_figures))
            parity = export_checkpoint(weights, fp32, metrics_path=metrics_path)
        else:
            shutil.copy(fp32_file, fp32)
            fp32_figures = _figures(fp32, tests)
            _set_metrics(fp32, fp32_figures)
            parity = None  # not exported again: its parity was checked when it was
        int8 = quantize_int8(fp32, tmp / "int8.onnx", count=calibration_tiles)
        int8_figures = _figures(int8, tests)
        _set_metrics(int8, int8_figures)  # each file carries its own measured figures
        loss = max(headline(fp32_figures[k]) - headline(int8_figures[k]) for k in tests)
        speedup = sum(fp32_figures[k]["seconds"] for k in tests) / sum(
            int8_figures[k]["seconds"] for k in tests)
        if default == "auto":
            default = "int8" if loss <= MAX_INT8_IOU_LOSS and speedup > 1.0 else "fp32"
        other = {"int8": "fp32", "fp32": "int8"}[default]
        target.parent.mkdir(parents=True, exist_ok=True)
        for name in ALTERNATE_NAMES.values():  # a previous bundle's other precision goes
            target.with_name(name).unlink(missing_ok=True)
        files = {"fp32": fp32, "int8": int8}
        shutil.copy(files[default], target)
        shutil.copy(files[other], target.with_name(ALTERNATE_NAMES[other]))
    report = {"fp32": fp32_figures, "int8": int8_figures, "parity": parity,
              "int8_iou_loss": round(loss, 4), "int8_speedup": round(speedup, 3),
              "default": default}
    print(json.dumps(report, indent=2))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("runs/default"))
    parser.add_argument("--m2nist-test", type=Path, required=True)
    parser.add_argument("--m2nist-overlap-test", type=Path, default=None,
                        help="M2NIST-style images with digits overlapping freely (stress test).")
    parser.add_argument("--document-test", type=Path, required=True)
    parser.add_argument("--field-test", type=Path, default=None,
                        help="Synthetic field crops with string labels (synth --kind field).")
    parser.add_argument("--report", type=Path, default=Path("docs/model-figures.json"))
    parser.add_argument("--checkpoint", default="best.keras",
                        help="Which checkpoint of the run: best.keras (the run's own choice) "
                             "or last.keras (chosen on larger validation sets).")
    parser.add_argument("--default", choices=("auto", "fp32", "int8"), default="auto",
                        help="Which precision becomes default.onnx: auto = int8 if it loses at "
                             f"most {MAX_INT8_IOU_LOSS} on every test set and is faster.")
    parser.add_argument("--fp32", type=Path, default=None,
                        help="An exported fp32 model (e.g. the bundled default.fp32.onnx) to "
                             "bundle instead of --run's checkpoint: int8 made and both measured again.")
    parser.add_argument("--calibration-tiles", type=int, default=INT8_CALIBRATION_TILES,
                        help="Synthetic tiles the int8 file is calibrated on.")
    args = parser.parse_args()
    tests = {"m2nist_test": args.m2nist_test, "m2nist_overlap_test": args.m2nist_overlap_test,
             "document_test": args.document_test, "field_test": args.field_test}
    report = bundle(args.run, {name: path for name, path in tests.items() if path is not None},
                    checkpoint=args.checkpoint, default=args.default, fp32_file=args.fp32,
                    calibration_tiles=args.calibration_tiles)
    args.report.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
