"""`fcn8-ocr evaluate`: score a model (ONNX, or a Keras checkpoint) on labelled images,
through exactly the runner's pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .classes import CLASS_NAMES, INK_LEVEL, NUM_CLASSES
from .infer import load_predictor
from .metrics import confusion, scores
from .pipeline import Options, segment_pages
from .read import InputError, Page, Source, read_label_map, read_pages
from .write import write_metrics


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
             digit_height: float | None = None, refine: bool = True, limit: int | None = None,
             chunk: int = 64, ink_level: int = INK_LEVEL) -> dict:
    """Dataset-level IoU/Dice of `model` on `data`; writes reports under `out` if given."""
    predictor = load_predictor(model)
    info = predictor.info
    options = Options(digit_height=digit_height, refine=refine, ink_level=ink_level)
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
    batch: list[Page] = []
    images = 0

    def flush() -> None:
        nonlocal matrix
        for result in segment_pages(batch, predictor, info, options, want_mask=True):
            matrix += confusion(result.page.labels, result.mask)
        batch.clear()

    for page in labelled_pages(data, limit):
        batch.append(page)
        images += 1
        if len(batch) >= chunk:
            flush()
    if batch:
        flush()
    report = {**scores(matrix), "images": images, "model": str(model), "data": str(data),
              "refine": refine}
    if out is not None:
        write_metrics(Path(out), matrix, report, [], list(CLASS_NAMES))
    return report
