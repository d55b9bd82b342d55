"""Outputs under --out, each written to a temporary name and renamed into place.

crops/<digit>/<page>_<n>.png, results.jsonl, errors.jsonl, masks/, overlays/,
(layout and schema: docs/outputs.md; the metrics files are `report.write_metrics`).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import secrets
import threading
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
    """Write `data` to `path` via a temporary file in the same folder and a rename; the
    folder is made when missing (mode 0o644 less the umask, as `open` makes files)."""
    tmp, fd = _create_temporary(path.parent)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TEMPORARY_NAMES = itertools.count()
# process id, a random token drawn at import, thread id and counter: a name no other writer
# picks, not even another node's process of the same id on a shared --out (Ray)
_PROCESS_TOKEN = secrets.token_hex(4)
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(
    os, "O_CLOEXEC", 0)


def _temporary_name(folder: Path, number: int) -> str:
    return (f"{folder}{os.sep}{TEMP_PREFIX}{os.getpid()}-{_PROCESS_TOKEN}-"
            f"{threading.get_ident()}-{number}.tmp")


def _create_temporary(folder: Path) -> tuple[str, int]:
    """A new temporary file in `folder` (made if missing), open for writing: its name and fd.
    Cheaper than `tempfile.mkstemp` (no random name each time, no chmod, no mkdir per
    file), which cost as much as the disk on a page of 300 crops (docs/benchmarks.md,
    tenth session)."""
    for _ in range(100):
        name = _temporary_name(folder, next(_TEMPORARY_NAMES))
        try:
            return name, os.open(name, _CREATE_NEW, 0o644)
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:  # taken: left by a killed run, or another writer's
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(folder))


def encode_png(image: np.ndarray, name: Path | str = "image") -> bytes:
    """PNG bytes of `image`; OSError naming `name` when OpenCV cannot encode it."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise OSError(f"{name}: PNG encoding failed")
    return buf.tobytes()


def write_png(path: Path, image: np.ndarray) -> None:
    atomic_write(path, encode_png(image, path))


@cache
def _encoders() -> ThreadPoolExecutor:
    """Threads for PNG encoding (OpenCV releases the GIL), one pool per process."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="fcn8-png")


def write_pngs(items: list[tuple[Path, np.ndarray]]) -> None:
    """Write many PNGs: encoded concurrently, written in turn by the calling thread (short
    file operations from several threads queue on the GIL and were twice as slow); return
    when all are in place, or raise the first error."""
    encoded = [_encoders().submit(encode_png, image, path) for path, image in items]
    for (path, _), future in zip(items, encoded, strict=True):
        atomic_write(path, future.result())


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


def page_record(result: PageResult, pad: int) -> tuple[dict, list[tuple[str, np.ndarray]]]:
    """A page's results.jsonl record and its crops as (path relative to --out, pixels)."""
    page = result.page
    image = to_8bit(page.image)
    regions, crops = [], []
    for n, r in enumerate(result.regions, 1):
        x, y, w, h = crop_box(r.box, pad, image.shape)
        rel = f"crops/{r.digit}/{page.name}_{n:03d}.png"
        crops.append((rel, image[y : y + h, x : x + w]))
        regions.append({"index": n, "class": r.digit, "confidence": r.confidence,
                        "bbox": list(r.box), "area": r.area, "crop": rel,
                        "crop_bbox": [x, y, w, h], "line": r.line, "position": r.position})
    record = {"source": str(page.source), "page": page.number, "name": page.name,
              "width": int(image.shape[1]), "height": int(image.shape[0]),
              "scale": round(result.norm.scale, 6),
              "digit_height": round(result.norm.digit_height, 2),
              "dark_ink": result.norm.dark_ink, "regions": regions, "lines": result.lines}
    return record, crops


def write_page(out: Path, result: PageResult, pad: int, save_mask: bool, save_overlay: bool
               ) -> dict:
    """Write a page's crops (and mask/overlay); return its results.jsonl record."""
    page = result.page
    record, crops = page_record(result, pad)
    write_pngs([(out / rel, pixels) for rel, pixels in crops])
    if save_mask and result.mask is not None:
        write_png(out / "masks" / f"{page.name}.png", result.mask)
        record["mask"] = f"masks/{page.name}.png"
    if save_overlay:
        write_png(out / "overlays" / f"{page.name}.png", overlay(page.image, result))
        record["overlay"] = f"overlays/{page.name}.png"
    return record
