"""docs/benchmarks.md from bench/results/full.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = {"keras": "Keras `model.predict` + numpy argmax (course-lab way)",
         "onnx_fp32": "fcn8-ocr, ONNX fp32 (bundled)",
         "onnx_int8": "fcn8-ocr, ONNX int8 (QDQ)",
         "onnx_fp32_lab_width": "fcn8-ocr, ONNX fp32, lab width (`width=1`, untrained)"}


def write_markdown(results: dict, path: Path, notes: str = "") -> None:
    v, c = results["variants"], results["compute"]
    lines = ["# Benchmarks", "",
             f"Machine: {results['machine']['cpu']}; {results['machine']['threads']} threads; "
             f"Python {results['machine']['python']}. Regenerate with `python bench/run.py` "
             "(figures below are from `bench/results/full.json`).", "",
             "## Throughput and accuracy, side by side", "",
             "A4 pages: 2480x3508 JPEG at 300 dpi, digits 50-110 px tall, end to end (decode, "
             "preprocessing, inference, regions, crops written). M2NIST: 64x84 images from "
             "`combined.npy`, batched.", "",
             "| variant | A4 median s/page | A4 pages/s | vs Keras | M2NIST images/s | vs Keras "
             "| A4 digit IoU | Dice | region recall | precision | class acc. |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, row in v.items():
        a4, m2 = row["a4"], row["m2nist"]
        lines.append(
            f"| {NAMES.get(key, key)} | {row['a4_median_s']:.3f} | {a4['pages_per_s']:.2f} | "
            f"{row['a4_speedup_vs_keras']:.2f}x | {m2['pages_per_s']:.1f} | "
            f"{row['m2nist_speedup_vs_keras']:.2f}x | {a4.get('mean_digit_iou') or 0:.3f} | "
            f"{a4.get('mean_digit_dice') or 0:.3f} | {a4.get('region_recall', 0):.3f} | "
            f"{a4.get('region_precision', 0):.3f} | {a4.get('region_class_accuracy', 0):.3f} |")
    lines += ["", "## Compute efficiency", "",
              f"The model's convolutions on one A4 page at model scale ({c['model_input']}): "
              f"{c['gflop_per_page']} GFLOP (counted from the ONNX graph, `bench/flops.py`). "
              f"End to end that is {c['achieved_gflops_end_to_end']} GFLOP/s against a peak of "
              f"{c['peak_gflops']} GFLOP/s ({c['peak_derivation']}): "
              f"**{c['fraction_of_peak']:.1%} of peak**.", "",
              "## Memory and size", "",
              "| page | megapixels | seconds | peak RSS (MB) |", "|---|---|---|---|"]
    for row in results["memory"]:
        lines.append(f"| {row['size']} | {row['megapixels']} | {row['seconds']:.2f} | "
                     f"{row['peak_rss_mb']:.0f} |")
    lines += ["", "## Workers", "", "| workers | pages/s |", "|---|---|"]
    for w, row in results["workers"].items():
        lines.append(f"| {w} | {row['pages_per_s']:.2f} |")
    if notes:
        lines += ["", notes]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "results" / "full.json"
    notes_path = Path(__file__).parent / "notes.md"
    write_markdown(json.loads(source.read_text()), Path(__file__).parents[1] / "docs" / "benchmarks.md",
                   notes_path.read_text() if notes_path.is_file() else "")
