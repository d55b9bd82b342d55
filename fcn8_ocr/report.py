"""What the CLI prints and draws: the end-of-run summary, a model's description, and the
metrics files (metrics.json, confusion.csv, metrics.png, confusion.png)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import cv2
import numpy as np

from .contract import ModelError, read_metadata
from .infer import OnnxModel
from .metrics import format_table
from .write import atomic_write, write_png


def print_summary(summary, config, class_names: list[str], quiet: bool) -> None:
    """Pages, regions per class, errors, throughput (and metrics when labels were given)."""
    if quiet:
        return
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    per_class = ", ".join(f"{class_names[c]}:{n}" for c, n in sorted(summary.regions.items()))
    click.echo(f"pages: {summary.pages} (skipped as done: {summary.skipped}), "
               f"errors: {summary.errors}, regions: {sum(summary.regions.values())} "
               f"[{per_class}]", err=True)
    click.echo(f"time: {summary.seconds:.2f} s, {rate:.2f} pages/s, output: {config.out}",
               err=True)
    if summary.metrics is not None:
        click.echo(format_table(summary.metrics), err=True)
    if summary.errors:
        click.echo(f"{summary.errors} input(s) failed: see {config.out / 'errors.jsonl'}",
                   err=True)


def model_summary(path: str | Path | None) -> dict:
    """Inputs, outputs, opset, size, providers and `fcn8_ocr.*` metadata of a model."""
    segmenter = OnnxModel(path, "cpu", 1)
    session = segmenter.session
    meta = session.get_modelmeta()
    try:
        metadata = read_metadata(meta.custom_metadata_map)
    except Exception as exc:  # pragma: no cover - defensive
        raise ModelError(f"{segmenter.path}: unreadable metadata ({exc})") from exc

    def describe(args) -> list[dict]:
        return [{"name": a.name, "type": a.type, "shape": [str(d) for d in a.shape]} for a in args]

    return {
        "model": str(segmenter.path),
        "size_mb": round(segmenter.path.stat().st_size / 2**20, 3),
        "producer": meta.producer_name,
        "opset": metadata.get("opset"),
        "inputs": describe(session.get_inputs()),
        "outputs": describe(session.get_outputs()),
        "metadata": metadata,
    }


def bar_chart(result: dict, title: str) -> np.ndarray:
    """PNG-ready chart of per-class IoU and Dice (OpenCV only)."""
    names = [n for n in result["classes"] if result["classes"][n]["iou"] is not None]
    width, height, left, bottom = 60 * len(names) + 80, 300, 50, 40
    canvas = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(canvas, title, (left, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    plot_h = height - bottom - 40
    for tick in (0.0, 0.5, 1.0):
        y = height - bottom - int(tick * plot_h)
        cv2.line(canvas, (left, y), (width - 10, y), (220, 220, 220), 1)
        cv2.putText(canvas, f"{tick:.1f}", (10, y + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    for i, name in enumerate(names):
        x = left + 10 + 60 * i
        for j, (key, colour) in enumerate((("iou", (180, 119, 31)), ("dice", (14, 127, 255)))):
            value = result["classes"][name][key]
            top = height - bottom - int(value * plot_h)
            cv2.rectangle(canvas, (x + 22 * j, top), (x + 22 * j + 20, height - bottom), colour, -1)
        cv2.putText(canvas, name[:5], (x, height - bottom + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(canvas, "IoU", (width - 110, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (180, 119, 31), 1)
    cv2.putText(canvas, "Dice", (width - 60, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (14, 127, 255), 1)
    return canvas


def confusion_image(matrix: np.ndarray, names: list[str]) -> np.ndarray:
    """Row-normalised confusion matrix as a heat map with counts (OpenCV only)."""
    n, cell, left, top = len(names), 44, 80, 40
    canvas = np.full((top + n * cell + 10, left + n * cell + 10, 3), 255, np.uint8)
    rows = matrix.sum(axis=1, keepdims=True).clip(min=1)
    share = matrix / rows
    for i in range(n):
        cv2.putText(canvas, names[i][:5], (5, top + i * cell + 27), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (0, 0, 0), 1)
        cv2.putText(canvas, names[i][:3], (left + i * cell + 8, top - 10),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
        for j in range(n):
            level = int(255 * (1 - share[i, j]))
            x, y = left + j * cell, top + i * cell
            cv2.rectangle(canvas, (x, y), (x + cell - 1, y + cell - 1), (255, level, level), -1)
            cv2.putText(canvas, f"{share[i, j]:.2f}", (x + 4, y + 27), cv2.FONT_HERSHEY_SIMPLEX,
                        0.35, (0, 0, 0) if share[i, j] < 0.6 else (255, 255, 255), 1)
    return canvas


def write_metrics(out: Path, matrix: np.ndarray, result: dict, per_page: list[dict],
                  names: list[str]) -> None:
    """metrics.json, confusion.csv, metrics.png and confusion.png under `out`."""
    report = {**result, "confusion": matrix.tolist(), "pages": per_page}
    atomic_write(out / "metrics.json", json.dumps(report, indent=2, sort_keys=True).encode())
    header = "truth\\pred," + ",".join(names) + "\n"
    rows = "".join(f"{names[i]}," + ",".join(str(int(v)) for v in matrix[i]) + "\n"
                   for i in range(len(names)))
    atomic_write(out / "confusion.csv", (header + rows).encode())
    write_png(out / "metrics.png", bar_chart(result, "per-class IoU and Dice"))
    write_png(out / "confusion.png", confusion_image(matrix, names))
