"""`fcn8-ocr evaluate`: score a model (ONNX, or a Keras checkpoint) on labelled images,
through exactly the runner's pipeline: masks, string labels or digit boxes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .classes import CLASS_NAMES, NUM_CLASSES
from .config import Options
from .infer import load_predictor
from .metrics import confusion, scores
from .pipeline import segment_pages
from .read import InputError, Page, Source, read_label_map, read_pages
from .regions import Region, order_regions
from .report import write_metrics
from .scoring import BoxScore, StringScore, is_digit_string
from .truth import data_kind, fingerprint, read_coco, read_string_labels
from .write import atomic_write


def labelled_pages(data: str | Path, limit: int | None = None) -> Iterator[Page]:
    """Pages with labels from M2NIST .npy files or a folder of images/ + labels/."""
    data = Path(data)
    combined = data / "combined.npy" if data.is_dir() else data
    if combined.suffix == ".npy" and combined.is_file():
        pages: Iterator[Page] = read_pages(Source(combined, combined.stem))
    else:
        def from_folder() -> Iterator[Page]:
            for label_path in sorted((data / "labels").glob("*.png")):
                images = sorted((data / "images").glob(label_path.stem + ".*"))
                if not images:
                    raise InputError(label_path, "no matching file in images/")
                for page in read_pages(Source(images[0], label_path.stem)):
                    page.labels = read_label_map(label_path, page.image.shape[:2])
                    yield page
        pages = from_folder()
    for count, page in enumerate(pages, 1):
        if page.labels is None:
            raise InputError(page.source, "no labels for this image (segmented.npy missing?)")
        yield page
        if limit is not None and count >= limit:
            return


def evaluate(model: str | Path, data: str | Path, out: Path | None = None,
             options: Options | None = None, limit: int | None = None, chunk: int = 64) -> dict:
    """Score `model` on `data` through the runner's pipeline; writes reports under `out`.

    The kind of ground truth is found from the folder (`truth.data_kind`): class-id masks
    give per-class IoU/Dice; `labels.csv` string labels give string and digit-count
    accuracy and CER; COCO digit boxes give region recall/precision, class accuracy and
    string accuracy.
    """
    predictor = load_predictor(model)
    options = options or Options()
    kind = data_kind(data)
    about = {"kind": kind, "model": str(model), "data": str(data),
             "fingerprint": fingerprint(data), "refine": options.refine}
    recorded = recorded_figures(predictor.info.extra.get("metrics"), data, about["fingerprint"])
    if recorded:
        about["recorded"] = recorded
    if kind == "masks":
        report = _score_masks(predictor, data, options, limit, chunk, out, about)
    else:
        report = {**_score_reading(predictor, data, kind, options, limit, chunk), **about}
        if out is not None:
            atomic_write(Path(out) / "metrics.json",
                         json.dumps(report, indent=2, sort_keys=True).encode())
    return report


def recorded_figures(metrics: object, data: str | Path, fingerprint_: str) -> dict | None:
    """The model's own figures (its `metrics` metadata) on this drawing of the data (same
    fingerprint), else on a set of the same folder name, with `same_drawing` saying which:
    a synthetic test set drawn again by a changed generator is another set."""
    if not isinstance(metrics, dict):
        return None
    sets = [(name, f) for name, f in metrics.items() if isinstance(f, dict) and "fingerprint" in f]
    for name, figures in sets:
        if figures["fingerprint"] == fingerprint_:
            return {"set": name, "same_drawing": True, **figures}
    for name, figures in sets:
        if Path(str(figures.get("data", ""))).name == Path(data).name:
            return {"set": name, "same_drawing": False, **figures}
    return None


HEADLINES = ("mean_digit_iou", "string_accuracy", "count_accuracy")


def recorded_line(recorded: dict, fingerprint_: str) -> str:
    """One line: the model's own figure on this set, or why it is not comparable."""
    figures = ", ".join([f"{k} {recorded[k]}" for k in HEADLINES if k in recorded]
                        + [f"{recorded.get('images')} images"])
    if recorded["same_drawing"]:
        return f"the model's metadata ({recorded['set']}, same drawing): {figures}"
    return (f"note: the model's metadata {recorded['set']} ({figures}) was measured on another "
            f"drawing of {recorded.get('data')} (fingerprint {recorded['fingerprint']}, this one "
            f"{fingerprint_}): not comparable")


def _score_masks(predictor, data, options: Options, limit: int | None, chunk: int,
                 out: Path | None, about: dict) -> dict:
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    batch: list[Page] = []
    images = 0

    def flush() -> None:
        nonlocal matrix
        for result in segment_pages(batch, predictor, predictor.info, options, want_mask=True):
            matrix += confusion(result.page.labels, result.mask)
        batch.clear()

    for page in labelled_pages(data, limit):
        batch.append(page)
        images += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    report = {**scores(matrix), "images": images, **about}
    if out is not None:
        write_metrics(Path(out), matrix, report, [], list(CLASS_NAMES))
    return report


def _score_reading(predictor, data, kind: str, options: Options, limit: int | None,
                   chunk: int) -> dict:
    """String (labels.csv) or box (COCO) scores: what a recognizer downstream would get."""
    data = Path(data)
    items = read_string_labels(data) if kind == "strings" else read_coco(data)
    items = items[:limit] if limit is not None else items
    score = StringScore() if kind == "strings" else BoxScore()
    errors = []
    for start in range(0, len(items), chunk):
        pages, truths = [], []
        for path, truth in items[start : start + chunk]:
            if kind == "strings" and not is_digit_string(truth):
                score.add(str(path), truth, "")  # counted apart, not scored
                continue
            try:
                found = list(read_pages(Source(path, path.stem)))
            except InputError as exc:
                errors.append({"image": exc.path, "error": exc.cause})
                continue
            pages += found
            truths += [(path, truth, n == len(found)) for n in range(1, len(found) + 1)]
        regions: list = []
        for result, (path, truth, last) in zip(
                segment_pages(pages, predictor, predictor.info, options), truths, strict=True):
            regions += result.regions
            if not last:  # a multi-page file reads as one string
                continue
            got = "".join(str(r.digit) for r in regions)
            name = path.relative_to(data).as_posix() if path.is_relative_to(data) else str(path)
            if kind == "strings":
                score.add(name, truth, got)
            else:
                expected = "".join(str(r.digit) for r in order_regions(
                    [Region(d, 1.0, tuple(int(v) for v in b), np.ones((1, 1), bool)) for d, b in truth]))
                score.add(name, [(r.digit, r.box) for r in regions], truth, expected, got)
            regions = []
    return {**score.report(), "errors": errors}
