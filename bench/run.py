"""Speed, memory and accuracy of fcn8-ocr, side by side in one run.

    python bench/run.py --checkpoint RUN/best.keras  # full run: figures for docs/benchmarks.md
    python bench/run.py --quick    # seconds: checks the scripts still work (CI)

Writes bench/results/<mode>.json and, in full mode, docs/benchmarks.md. Needs the
`[train]` extra (Keras baseline, synthetic pages, FLOP count).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from flops import conv_flops, cpu_peak_gflops  # noqa: E402

from fcn8_ocr.batch import run_job  # noqa: E402
from fcn8_ocr.classes import BACKGROUND  # noqa: E402
from fcn8_ocr.config import JobConfig  # noqa: E402
from fcn8_ocr.infer import default_threads  # noqa: E402
from fcn8_ocr.models import DEFAULT_MODEL, bundled_files  # noqa: E402
from fcn8_ocr.read import Source  # noqa: E402
from fcn8_ocr.worker import Worker  # noqa: E402


def extract_commit(ref: str, folder: Path, *paths: str) -> Path:
    """The tree committed at `ref` (or only `paths` of it), written under `folder`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, *paths],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def make_pages(folder: Path, count: int, size: tuple[int, int], heights: tuple[float, float]) -> Path:
    """A4-like JPEG pages with label PNGs (test-split digits)."""
    from fcn8_ocr.train.synthesize import write_synthetic

    write_synthetic("document", count, folder, seed=77, size=size, digit_height=heights)
    return folder


def page_latencies(model: str, pages: Path, out: Path, threads: int) -> tuple[list[float], list[float]]:
    """Seconds per page, end to end (decode, preprocess, infer, regions, crops written):
    each page the first time (what a user sees: a new page size can mean a new input
    shape, which Keras traces anew) and again right after (shape already seen). Each run
    writes its crops under a name of its own, as a user's job writes new files: crops
    written over the first run's cost ext4 about twice as much (300 crops: ~58 against ~31 ms)."""
    config = JobConfig(inputs=[str(pages)], out=out, model=model, provider="cpu", threads=threads,
                       pad=4, quiet=True)
    out.mkdir(parents=True, exist_ok=True)
    worker = Worker(config, threads)
    files = sorted((pages / "images").iterdir())
    worker.process(Source(files[0], "warmup"))
    first, again = [], []
    for path in files:
        for times, name in ((first, path.stem), (again, f"{path.stem}-again")):
            start = time.perf_counter()
            worker.process(Source(path, name))
            times.append(time.perf_counter() - start)
    return first, again


def throughput(model: str, inputs: list[str], out: Path, threads: int, workers: int = 1,
               labels: Path | None = None) -> dict:
    """Pages/s of a whole `segment` job, and its metrics when labels are given."""
    config = JobConfig(inputs=inputs, out=out, model=model, provider="cpu", threads=threads,
                       workers=workers, labels=labels, quiet=True)
    run_job(JobConfig(inputs=inputs, out=out.with_name(out.name + "-warm"), model=model,
                      provider="cpu", threads=threads, quiet=True)) if workers == 1 else None
    summary = run_job(config)
    result = {"pages": summary.pages, "seconds": round(summary.seconds, 3),
              "pages_per_s": round(summary.pages / summary.seconds, 3)}
    if summary.metrics:
        result["mean_digit_iou"] = summary.metrics["mean_digit_iou"]
        result["mean_digit_dice"] = summary.metrics["mean_digit_dice"]
    if labels is not None:
        result.update(region_scores(out, labels))
    return result


def inference_only(model: str, page: Path, m2nist: Path, threads: int) -> dict:
    """Milliseconds for the network alone (uint8 in, labels and scores out): one A4 page at
    model scale, and a batch of 64 M2NIST images; median of 5 after a warm-up call."""
    from fcn8_ocr.infer import load_predictor
    from fcn8_ocr.normalise import normalise, to_grey
    from fcn8_ocr.tile import padded_size

    predictor = load_predictor(model, "cpu", threads)
    norm = normalise(to_grey(cv2.imread(str(page))), predictor.info.digit_height)
    h, w = norm.image.shape
    a4 = np.zeros((1, padded_size(h, 32), padded_size(w, 32)), np.uint8)
    a4[0, :h, :w] = norm.image
    images = np.load(m2nist / "combined.npy")[:64]
    small = np.zeros((len(images), 64, 96), np.uint8)
    small[:, :, :84] = images
    out = {}
    for name, batch in (("a4_page_ms", a4), ("m2nist_64_ms", small)):
        predictor(batch)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            predictor(batch)
            times.append(time.perf_counter() - start)
        out[name] = round(1000 * statistics.median(times), 1)
    out["a4_input"] = list(a4.shape[1:])
    return out


def region_scores(out: Path, labels: Path) -> dict:
    """Region recall / precision (box IoU >= 0.5) and class accuracy of matched regions."""
    tp = n_pred = n_true = correct = 0
    for line in (out / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        truth = cv2.imread(str(labels / f"{record['name']}.png"), cv2.IMREAD_UNCHANGED)
        boxes = []
        for digit in range(BACKGROUND):
            n, _, stats, _ = cv2.connectedComponentsWithStats((truth == digit).astype(np.uint8))
            boxes += [(digit, s[:4]) for s in stats[1:] if s[4] >= 30]
        n_true += len(boxes)
        n_pred += len(record["regions"])
        used = set()
        for region in record["regions"]:
            best, best_iou = None, 0.5
            for k, (_, box) in enumerate(boxes):
                iou = box_iou(region["bbox"], box)
                if k not in used and iou >= best_iou:
                    best, best_iou = k, iou
            if best is not None:
                used.add(best)
                tp += 1
                correct += boxes[best][0] == region["class"]
    return {"region_recall": round(tp / max(1, n_true), 4),
            "region_precision": round(tp / max(1, n_pred), 4),
            "region_class_accuracy": round(correct / max(1, tp), 4)}


def box_iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = (int(v) for v in b)
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def memory_child(page: str, model: str) -> None:
    """Run in a fresh process: segment one page, print seconds and peak RSS."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run_job(JobConfig(inputs=[page], out=Path(tmp), model=model, provider="cpu", quiet=True))
    # VmHWM is this process image's own peak (ru_maxrss would carry the parent's over exec)
    status = Path("/proc/self/status").read_text()
    hwm_kb = int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1])
    print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": hwm_kb / 1024}))


def memory_curve(model: str, tmp: Path, megapixels: list[float]) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for mp in megapixels:
        h = int(np.sqrt(mp * 1e6 * 4 / 3))
        w = int(mp * 1e6 / h)
        page = np.full((h, w), 230, np.uint8)
        step = 80  # rows of ~45 px digits, as on a 300 dpi scan, whatever the page size
        for y in range(step, h - step, step * 2):
            for x in range(step, w - step, step):
                cv2.putText(page, str(rng.integers(10)), (x, y), cv2.FONT_HERSHEY_SIMPLEX,
                            2.0, 30, 6)
        path = tmp / f"page_{mp:g}mp.png"
        cv2.imwrite(str(path), page)
        out = subprocess.run([sys.executable, __file__, "--memory-child", str(path), "--model", model],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append({"megapixels": round(h * w / 1e6, 2), "size": f"{w}x{h}", **row})
        path.unlink()
    return rows


def bundled_pair() -> tuple[Path | None, Path | None]:
    """The bundled fp32 and int8 files (whichever of them is `default.onnx`)."""
    files = bundled_files()
    return files.get("fp32"), files.get("int8")


def keras_and_variants(tmp: Path, quick: bool, checkpoint: Path) -> dict[str, str]:
    """Model files to compare: Keras baseline, ONNX fp32, ONNX int8, lab width (fp32).

    Full runs compare `checkpoint` (the bundled model's Keras weights) with the bundled
    files; without it they stop rather than time an untrained stand-in."""
    from fcn8_ocr.export.convert import export_onnx
    from fcn8_ocr.export.quantize import quantize_int8
    from fcn8_ocr.train.model import build_fcn8

    fp32_file, int8_file = bundled_pair()
    models: dict[str, str] = {}
    if not quick and fp32_file is None:
        sys.exit(f"error: {DEFAULT_MODEL}: no bundled model to benchmark")
    if not quick and not checkpoint.is_file():
        sys.exit(f"error: {checkpoint}: the bundled model's Keras checkpoint is needed for the "
                 "Keras baseline (--checkpoint); --quick runs without it")
    if quick:
        model = build_fcn8(width=0.125)
        keras_path = tmp / "tiny.keras"
        model.save(keras_path)
        export_onnx(model, tmp / "tiny.onnx", 24.0, check=False)
        models["keras"], models["onnx_fp32"] = str(keras_path), str(tmp / "tiny.onnx")
        int8_file = None
    else:
        models["keras"], models["onnx_fp32"] = str(checkpoint), str(fp32_file)
    if int8_file is None:
        int8_file = quantize_int8(models["onnx_fp32"], tmp / "int8.onnx", count=8 if quick else 64)
    models["onnx_int8"] = str(int8_file)
    lab = build_fcn8(width=0.125 if quick else 1.0)
    export_onnx(lab, tmp / "lab.onnx", 24.0, check=False)
    models["onnx_fp32_lab_width"] = str(tmp / "lab.onnx")
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "runs" / "default" / "best.keras",
                        help="Keras weights of the bundled model (the baseline's same weights).")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--memory-child")
    parser.add_argument("--model")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.model)
        return
    threads = default_threads(1)
    results: dict = {"machine": {"cpu": cpu_peak_gflops(threads)[1], "threads": threads,
                                 "python": platform.python_version()}}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        models = keras_and_variants(tmp, args.quick, args.checkpoint)
        a4 = (620, 877) if args.quick else (2480, 3508)
        heights = (12.0, 28.0) if args.quick else (50.0, 110.0)
        pages = make_pages(tmp / "a4", 1 if args.quick else args.pages, a4, heights)
        m2nist = tmp / "m2nist"
        from fcn8_ocr.train.synthesize import write_synthetic

        write_synthetic("m2nist", 16 if args.quick else 512, m2nist, seed=5)

        rows = {}
        for name, model in models.items():
            first, again = page_latencies(model, pages, tmp / f"lat-{name}", threads)
            row = {"a4_latency_s": first, "a4_again_latency_s": again,
                   "a4_median_s": round(statistics.median(first), 3),
                   "a4_again_median_s": round(statistics.median(again), 3)}
            row["a4"] = throughput(model, [str(pages / "images")], tmp / f"a4-{name}", threads,
                                   labels=pages / "labels")
            row["inference"] = inference_only(model, sorted((pages / "images").iterdir())[0], m2nist,
                                              threads)
            row["m2nist"] = throughput(model, [str(m2nist / "combined.npy")], tmp / f"m2-{name}",
                                       threads)
            rows[name] = row
            print(name, json.dumps({k: v for k, v in row.items() if "latency" not in k}), flush=True)
        base = rows["keras"]
        for row in rows.values():
            row["a4_speedup_vs_keras"] = round(base["a4_median_s"] / row["a4_median_s"], 2)
            row["a4_again_speedup_vs_keras"] = round(base["a4_again_median_s"] / row["a4_again_median_s"], 2)
            row["inference_speedup_vs_keras"] = {
                k: round(base["inference"][k] / row["inference"][k], 2)
                for k in ("a4_page_ms", "m2nist_64_ms")}
            row["m2nist_speedup_vs_keras"] = round(
                row["m2nist"]["pages_per_s"] / base["m2nist"]["pages_per_s"], 2)
        results["variants"] = rows

        mh, mw = rows["onnx_fp32"]["inference"]["a4_input"]
        gflop = conv_flops(models["onnx_fp32"], mh, mw) / 1e9
        peak, how = cpu_peak_gflops(threads)
        results["compute"] = {"model_input": f"{mw}x{mh}", "gflop_per_page": round(gflop, 2),
                              "peak_gflops": round(peak, 1), "peak_derivation": how}
        for key in ("onnx_fp32", "onnx_int8"):
            achieved = gflop / (rows[key]["inference"]["a4_page_ms"] / 1000)
            results["compute"][key] = {"network_gflops": round(achieved, 1),
                                       "network_fraction_of_peak": round(achieved / peak, 3)}
        default = "onnx_int8" if Path(models["onnx_int8"]) == DEFAULT_MODEL else "onnx_fp32"
        results["default_variant"] = default
        mps = [0.5, 1.0] if args.quick else [1.0, 4.0, 16.0, 108.0]
        results["memory"] = memory_curve(models[default], tmp, mps)
        results["workers"] = {
            str(w): throughput(models[default], [str(pages / "images")], tmp / f"w{w}",
                               default_threads(w), workers=w) for w in (1, 2)}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / ("quick.json" if args.quick else "full.json")
    path.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(f"wrote {path}")
    if not args.quick:
        from report import write_markdown

        notes = ROOT / "bench" / "notes.md"
        write_markdown(results, ROOT / "docs" / "benchmarks.md",
                       notes.read_text() if notes.is_file() else "")


if __name__ == "__main__":
    main()
