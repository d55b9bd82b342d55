"""docs/benchmarks.md from bench/results/full.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

NAMES = {"keras": "Keras `model.predict` + numpy argmax (course-lab way), same weights",
         "onnx_fp32": "fcn8-ocr, ONNX fp32",
         "onnx_int8": "fcn8-ocr, ONNX int8 (QDQ)",
         "onnx_fp32_lab_width": "fcn8-ocr, ONNX fp32, lab width (`width=1`, untrained)"}


def _in_table_order(variants: dict) -> list[tuple[str, dict]]:
    """Variants in the order of NAMES (unknown ones last)."""
    order = list(NAMES)
    return sorted(variants.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))


def targets(results: dict) -> list[tuple[str, str, bool]]:
    """The issue's targets against this run's figures."""
    v = results["variants"]
    d = v[results.get("default_variant", "onnx_fp32")]
    big = max(results["memory"], key=lambda r: r["megapixels"])
    int8 = v["onnx_int8"]["a4"]["pages_per_s"] / v["onnx_fp32"]["a4"]["pages_per_s"]
    return [
        ("A4 300 dpi page end to end <= 0.5 s median", f"{d['a4_median_s']:.3f} s", d["a4_median_s"] <= 0.5),
        (">= 5x Keras-predict pages/s (A4, each page new)", f"{d['a4_speedup_vs_keras']:.2f}x",
         d["a4_speedup_vs_keras"] >= 5),
        (">= 5x Keras-predict pages/s (A4, page seen before)", f"{d['a4_again_speedup_vs_keras']:.2f}x",
         d["a4_again_speedup_vs_keras"] >= 5),
        (">= 5x Keras-predict images/s (M2NIST)", f"{d['m2nist_speedup_vs_keras']:.2f}x",
         d["m2nist_speedup_vs_keras"] >= 5),
        (f"peak RSS for the {big['size']} page <= 1 GB", f"{big['peak_rss_mb']:.0f} MB",
         big["peak_rss_mb"] <= 1024),
        ("int8 >= 1.5x fp32 throughput (A4 pages/s)", f"{int8:.2f}x", int8 >= 1.5),
    ]


def write_markdown(results: dict, path: Path, notes: str = "") -> None:
    v, c = results["variants"], results["compute"]
    lines = ["# Benchmarks", "",
             f"Machine: {results['machine']['cpu']}; {results['machine']['threads']} threads; "
             f"Python {results['machine']['python']}. Regenerate with `python bench/run.py "
             "--checkpoint <the bundled model's .keras>` (docs/model.md names the run; figures "
             "below are from `bench/results/full.json`).", "",
             "## Throughput and accuracy, side by side", "",
             "A4 pages: 2480x3508 JPEG at 300 dpi, digits 50-110 px tall, end to end (decode, "
             "preprocessing, inference, regions, crops written). M2NIST: 64x84 images from "
             "`combined.npy`, batched.", "",
             "A4 median s/page: each page the first time it is seen (a new page size means a "
             "new input shape, which Keras traces anew); *again*: the same page right after. "
             "A4 pages/s: a whole `segment` job over the pages (model load, labels and "
             "metrics included).", "",
             "| variant | A4 median s/page | vs Keras | again | vs Keras | A4 pages/s | M2NIST images/s "
             "| vs Keras | A4 digit IoU | Dice | region recall | precision | class acc. |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    default = results.get("default_variant", "onnx_fp32")
    for key, row in _in_table_order(v):
        a4, m2 = row["a4"], row["m2nist"]
        name = NAMES.get(key, key) + (" — **bundled default**" if key == default else "")
        accuracy = ("n/a (untrained) | " * 5 if "untrained" in name else
                    f"{a4.get('mean_digit_iou') or 0:.3f} | {a4.get('mean_digit_dice') or 0:.3f} | "
                    f"{a4.get('region_recall', 0):.3f} | {a4.get('region_precision', 0):.3f} | "
                    f"{a4.get('region_class_accuracy', 0):.3f} | ")
        lines.append(
            f"| {name} | {row['a4_median_s']:.3f} | {row['a4_speedup_vs_keras']:.2f}x | "
            f"{row['a4_again_median_s']:.3f} | {row['a4_again_speedup_vs_keras']:.2f}x | "
            f"{a4['pages_per_s']:.2f} | {m2['pages_per_s']:.1f} | "
            f"{row['m2nist_speedup_vs_keras']:.2f}x | {accuracy.rstrip()}")
    lines += ["", "The network alone (uint8 in, labels and scores out; Keras: `predict` with the "
              "full softmax, then numpy argmax), median ms:", "",
              "| variant | one A4 page at model scale | vs Keras | 64 M2NIST images | vs Keras |",
              "|---|---|---|---|---|"]
    for key, row in _in_table_order(v):
        i, r = row["inference"], row["inference_speedup_vs_keras"]
        lines.append(f"| {NAMES.get(key, key)} | {i['a4_page_ms']:.0f} | {r['a4_page_ms']:.2f}x | "
                     f"{i['m2nist_64_ms']:.0f} | {r['m2nist_64_ms']:.2f}x |")
    lines += ["", "## Targets (bundled default model, default settings)", "",
              "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else '**no**'} |" for t, m, ok in targets(results)]
    f, i8 = c["onnx_fp32"], c["onnx_int8"]
    lines += ["", "## Compute efficiency", "",
              f"The network's convolutions on the first A4 page at model scale ({c['model_input']}): "
              f"{c['gflop_per_page']} GFLOP (counted from the ONNX graph, `bench/flops.py`). "
              f"Peak: {c['peak_gflops']} GFLOP/s ({c['peak_derivation']}; the clock is the nominal "
              "one /proc/cpuinfo reports, boost clocks can exceed it). The network alone runs at "
              f"{f['network_gflops']} GFLOP/s in fp32, **{f['network_fraction_of_peak']:.0%} of "
              f"that peak**, and int8 at {i8['network_gflops']} fp32-equivalent GFLOP/s "
              f"({i8['network_fraction_of_peak']:.0%}).", "",
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
