"""What makes the network cheaper per A4 page: narrower trunks, or fewer model pixels?

    python bench/arch_speed.py [--rounds 12] [--out ~/fcn8-runs/arch-survey] [--no-variants]

1. FCN-8 variants of other widths (`build_fcn8` width / deep_width, random weights, int8 as
   `fcn8-ocr export --int8` makes them, 32 calibration tiles: the weights do not change the
   time) beside the bundled file, each read on one A4 page at model scale (1056x768).
2. The bundled file on the input sizes of that page read for a model of digit height 24
   (its own), 20, 18 and 16 px: what a model trained with `fcn8-ocr train --digit-height`
   would cost.

Sessions take turns round by round, so a slow minute hits them alike; medians are printed.
Needs the `[train]` extra (TensorFlow, tf2onnx) for part 1.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from fcn8_ocr.infer import OnnxModel, default_threads
from fcn8_ocr.models import DEFAULT_MODEL

A4_AT_MODEL_SCALE = (1056, 768)  # an A4 page at 300 dpi with its digits at 24 px
VARIANTS = {"w0.5 (the bundled shape)": (0.5, None), "w0.5, blocks 4-5 at 0.25": (0.5, 0.25),
            "w0.375": (0.375, None), "w0.375, blocks 4-5 at 0.25": (0.375, 0.25),
            "w0.25": (0.25, None)}
DIGIT_HEIGHTS = (24, 20, 18, 16)


def session(path: str | Path) -> ort.InferenceSession:
    """The runner's own session settings (`OnnxModel`) on all cores."""
    return OnnxModel(path, "cpu", default_threads(1)).session


def medians(runs: dict[str, tuple[ort.InferenceSession, np.ndarray]], rounds: int
            ) -> dict[str, float]:
    """Median milliseconds of each (session, input), taking turns, order reversed each round."""
    for s, image in runs.values():
        s.run(None, {"image": image})
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for round_ in range(rounds):
        for name in order if round_ % 2 else order[::-1]:
            s, image = runs[name]
            start = time.perf_counter()
            s.run(None, {"image": image})
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) * 1000 for name, t in times.items()}


def variant_files(out: Path) -> dict[str, Path]:
    """int8 files of VARIANTS (made once, kept in `out`)."""
    from fcn8_ocr.export.convert import export_onnx
    from fcn8_ocr.export.quantize import quantize_int8
    from fcn8_ocr.train.model import build_fcn8

    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, (width, deep) in VARIANTS.items():
        stem = f"w{width}" + (f"-d{deep}" if deep else "")
        int8 = out / f"{stem}.int8.onnx"
        if not int8.is_file():
            export_onnx(build_fcn8(width=width, deep_width=deep, centres=True),
                        out / f"{stem}.fp32.onnx", 24.0, check=False)
            quantize_int8(out / f"{stem}.fp32.onnx", int8, count=32)
        files[name] = int8
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--out", type=Path, default=Path.home() / "fcn8-runs" / "arch-survey")
    parser.add_argument("--variants", action=argparse.BooleanOptionalAction, default=True,
                        help="Part 1 (builds and quantizes the variants once; needs [train]).")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    page = rng.integers(0, 255, (1, *A4_AT_MODEL_SCALE, 1), dtype=np.uint8)
    bundled = session(DEFAULT_MODEL)

    if args.variants:
        runs = {"bundled file": (bundled, page)}
        runs |= {name: (session(path), page) for name, path in variant_files(args.out).items()}
        ms = medians(runs, args.rounds)
        print(f"1. one A4 page at model scale ({A4_AT_MODEL_SCALE[0]}x{A4_AT_MODEL_SCALE[1]}), "
              "int8:")
        for name, value in ms.items():
            print(f"  {name:28s} {value:6.1f} ms  {value / ms['bundled file']:.2f}x")

    runs = {}
    for height in DIGIT_HEIGHTS:
        size = [round(side * height / 24 / 32) * 32 for side in A4_AT_MODEL_SCALE]
        runs[f"{height} px"] = (bundled, rng.integers(0, 255, (1, *size, 1), dtype=np.uint8))
    ms = medians(runs, args.rounds)
    print("2. the bundled file on that page read for a model of digit height:")
    for height in DIGIT_HEIGHTS:
        value = ms[f"{height} px"]
        print(f"  {height} px {value:6.1f} ms  {value / ms['24 px']:.2f}x  "
              f"(pixels {(height / 24) ** 2:.2f}x)")


if __name__ == "__main__":
    main()
