"""Segmentation metrics over a whole dataset (numpy only).

Per class IoU and Dice come from one confusion matrix summed over every pixel of every
image (sum of intersections over sum of unions), not from averaging per-image scores.
A class absent from both prediction and truth has no score (NaN) and is left out of
the means.
"""

from __future__ import annotations

import numpy as np

from .classes import BACKGROUND, CLASS_NAMES, DIGIT_CLASSES, IGNORE, NUM_CLASSES


def confusion(truth: np.ndarray, pred: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """(classes x classes) int64 counts, rows = truth, columns = prediction; IGNORE dropped."""
    if truth.shape != pred.shape:
        raise ValueError(f"label shape {truth.shape} differs from prediction {pred.shape}")
    keep = truth != IGNORE
    t = truth[keep].astype(np.int64)
    p = pred[keep].astype(np.int64)
    if t.size and (t.max() >= classes or p.max() >= classes):
        raise ValueError(f"class ids must be below {classes} (or {IGNORE} to ignore)")
    return np.bincount(t * classes + p, minlength=classes * classes).reshape(classes, classes)


def scores(matrix: np.ndarray) -> dict:
    """IoU, Dice per class, their means over the digit classes, and pixel accuracy."""
    matrix = np.asarray(matrix, dtype=np.float64)
    tp = np.diag(matrix)
    truth = matrix.sum(axis=1)
    pred = matrix.sum(axis=0)
    union = truth + pred - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
        dice = np.where(truth + pred > 0, 2 * tp / (truth + pred), np.nan)
    digits = list(DIGIT_CLASSES)
    total = matrix.sum()

    def mean(values: np.ndarray) -> float | None:
        v = values[digits]
        return None if np.all(np.isnan(v)) else float(np.nanmean(v))

    def clean(x: float) -> float | None:
        return None if np.isnan(x) else round(float(x), 6)

    return {
        "classes": {CLASS_NAMES[c]: {"iou": clean(iou[c]), "dice": clean(dice[c]),
                                     "pixels": int(truth[c])} for c in range(len(tp))},
        "mean_digit_iou": clean(mean(iou) if mean(iou) is not None else np.nan),
        "mean_digit_dice": clean(mean(dice) if mean(dice) is not None else np.nan),
        "background_iou": clean(iou[BACKGROUND]),
        "pixel_accuracy": clean(tp.sum() / total if total else np.nan),
    }


def format_table(result: dict) -> str:
    """Plain-text table of per class IoU / Dice and the digit means."""

    def fmt(x: float | None) -> str:
        return "   -  " if x is None else f"{x:6.3f}"

    lines = [f"{'class':>10}  {'IoU':>6}  {'Dice':>6}  {'pixels':>10}"]
    for name, row in result["classes"].items():
        lines.append(f"{name:>10}  {fmt(row['iou'])}  {fmt(row['dice'])}  {row['pixels']:>10}")
    lines.append(f"{'digits':>10}  {fmt(result['mean_digit_iou'])}  "
                 f"{fmt(result['mean_digit_dice'])}  (mean over digit classes)")
    lines.append(f"pixel accuracy {fmt(result['pixel_accuracy'])}")
    return "\n".join(lines)
