"""M2NIST-style accuracy split by whether an image's digits touch or overlap.

    python bench/m2nist_overlap.py data/m2nist-overlap-test [--model M.onnx] [--count 400]

Runs the runner's own pipeline (regions, ink refinement) and prints, for images whose
digits stand apart and for those whose digits touch, the mean digit IoU and the share
of digit pixels given the right digit (docs/model.md).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import cv2
import numpy as np

from fcn8_ocr.classes import BACKGROUND, NUM_CLASSES
from fcn8_ocr.config import Options
from fcn8_ocr.infer import OnnxModel
from fcn8_ocr.metrics import confusion, scores
from fcn8_ocr.pipeline import segment_pages
from fcn8_ocr.read import Source, read_pages


def digits_touch(onehot: np.ndarray) -> bool:
    """True when the digit masks of one image overlap or touch (fewer foreground
    components than digit instances)."""
    digit_masks = onehot[..., :BACKGROUND] > 0.5
    if (digit_masks.sum(-1) > 1).any():
        return True
    instances = sum(cv2.connectedComponents(digit_masks[..., c].astype(np.uint8))[0] - 1
                    for c in range(BACKGROUND))
    return cv2.connectedComponents(digit_masks.any(-1).astype(np.uint8))[0] - 1 < instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with combined.npy + segmented.npy")
    parser.add_argument("--model", default=None, help="ONNX model (default: bundled)")
    parser.add_argument("--count", type=int, default=400)
    args = parser.parse_args()
    pages = list(itertools.islice(read_pages(Source(args.data / "combined.npy", "m2nist")), args.count))
    masks = np.load(args.data / "segmented.npy", mmap_mode="r")
    segmenter = OnnxModel(args.model, "cpu")
    results = segment_pages(pages, segmenter, segmenter.info, Options(), want_mask=True)
    groups = {touch: np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64) for touch in (False, True)}
    counts = {False: 0, True: 0}
    for result, onehot in zip(results, masks, strict=False):
        touch = digits_touch(np.asarray(onehot))
        groups[touch] += confusion(result.page.labels, result.mask)
        counts[touch] += 1
    print("| images | count | mean digit IoU | digit pixels given the right digit |")
    print("|---|---|---|---|")
    for touch, matrix in groups.items():
        digit = matrix[:BACKGROUND, :BACKGROUND]
        right = np.trace(digit) / max(1, matrix[:BACKGROUND].sum())
        name = "digits touching or overlapping" if touch else "digits apart"
        iou = scores(matrix)["mean_digit_iou"]
        iou_text = "-" if iou is None else f"{iou:.3f}"
        print(f"| {name} | {counts[touch]} | {iou_text} | {right:.1%} |")


if __name__ == "__main__":
    main()
