"""Outputs under --out, each written to a temporary name and renamed into place.

crops/<digit>/<page>_<n>.png, results.jsonl, errors.jsonl, masks/, overlays/,
metrics.json (layout and schema: docs/outputs.md).
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from .pipeline import PageResult

PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40],
                    [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127],
                    [188, 189, 34], [23, 190, 207]], np.uint8)[:, ::-1]  # BGR


TEMP_PREFIX = ".fcn8-ocr~"  # temporary files this tool names; the only ones it ever deletes
TEMP_GLOB = f"{TEMP_PREFIX}*.tmp"


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_png(path: Path, image: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    atomic_write(path, buf.tobytes())


@cache
def _writers() -> ThreadPoolExecutor:
    """Threads for PNG encoding and file I/O (both release the GIL), one pool per process."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="fcn8-write")


def write_pngs(items: list[tuple[Path, np.ndarray]]) -> None:
    """Write many PNGs concurrently; return when all are in place (or raise the first error)."""
    futures = [_writers().submit(write_png, path, image) for path, image in items]
    for future in futures:
        future.result()


def append_jsonl(path: Path, record: dict) -> None:
    """Append one complete JSON line, flushed to disk; on a short or failed write (disk
    full, file size limit) the file is cut back to where it was and OSError raised, so no
    torn line stays behind."""
    line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    start = os.fstat(fd).st_size
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(errno.ENOSPC, f"short write ({written} of {len(line)} bytes)")
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, start)
        raise
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> list[dict]:
    """Complete records of a JSON-lines file; a torn last line (killed run) is dropped and
    the file rewritten without it."""
    if not path.is_file():
        return []
    records, good = [], []
    for line in path.read_bytes().splitlines(keepends=True):
        try:
            records.append(json.loads(line))
            good.append(line if line.endswith(b"\n") else line + b"\n")
        except json.JSONDecodeError:
            continue
    if sum(map(len, good)) != path.stat().st_size:
        atomic_write(path, b"".join(good))
    return records


def to_8bit(image: np.ndarray) -> np.ndarray:
    return (image >> 8).astype(np.uint8) if image.dtype == np.uint16 else image


def crop_box(box: tuple[int, int, int, int], pad: int, shape: tuple[int, ...]
             ) -> tuple[int, int, int, int]:
    """(x, y, w, h) grown by `pad` pixels on every side, clipped to the page."""
    x, y, w, h = box
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(shape[1], x + w + pad), min(shape[0], y + h + pad)
    return x0, y0, x1 - x0, y1 - y0


def overlay(image: np.ndarray, result: PageResult) -> np.ndarray:
    """The page with each region's pixels tinted by class, its box and its label."""
    page = to_8bit(image)
    canvas = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR) if page.ndim == 2 else page[..., :3].copy()
    thickness = max(1, int(round(result.norm.digit_height / 40)))
    for r in result.regions:
        x, y, w, h = r.box
        colour = PALETTE[r.digit]
        window = canvas[y : y + h, x : x + w]
        window[r.mask] = (0.4 * window[r.mask] + 0.6 * colour).astype(np.uint8)
        cv2.rectangle(canvas, (x, y), (x + w - 1, y + h - 1), colour.tolist(), thickness)
        cv2.putText(canvas, f"{r.digit} {r.confidence:.2f}", (x, max(12, y - 3 * thickness)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness, colour.tolist(), thickness,
                    cv2.LINE_AA)
    return canvas


def write_page(out: Path, result: PageResult, pad: int, save_mask: bool, save_overlay: bool
               ) -> dict:
    """Write a page's crops (and mask/overlay); return its results.jsonl record."""
    page = result.page
    image = to_8bit(page.image)
    regions, crops = [], []
    for n, r in enumerate(result.regions, 1):
        x, y, w, h = crop_box(r.box, pad, image.shape)
        rel = f"crops/{r.digit}/{page.name}_{n:03d}.png"
        crops.append((out / rel, image[y : y + h, x : x + w]))
        regions.append({"index": n, "class": r.digit, "confidence": r.confidence,
                        "bbox": list(r.box), "area": r.area, "crop": rel,
                        "crop_bbox": [x, y, w, h], "line": r.line, "position": r.position})
    record = {"source": str(page.source), "page": page.number, "name": page.name,
              "width": int(image.shape[1]), "height": int(image.shape[0]),
              "scale": round(result.norm.scale, 6),
              "digit_height": round(result.norm.digit_height, 2),
              "dark_ink": result.norm.dark_ink, "regions": regions, "lines": result.lines}
    write_pngs(crops)
    if save_mask and result.mask is not None:
        write_png(out / "masks" / f"{page.name}.png", result.mask)
        record["mask"] = f"masks/{page.name}.png"
    if save_overlay:
        write_png(out / "overlays" / f"{page.name}.png", overlay(page.image, result))
        record["overlay"] = f"overlays/{page.name}.png"
    return record


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
