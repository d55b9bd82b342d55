"""Ground truth as OCR data sets label it, besides class-id masks:

* string labels: a folder of images with `labels.csv` (`filename,label`);
* digit boxes: COCO detection JSON (`annotations/instances_*.json`, images beside it or
  in `images/`), category names "0"-"9".

Malformed files raise `InputError` with a one-line cause naming the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

from .read import InputError
from .scoring import Box

LABELS_CSV = "labels.csv"


def data_kind(data: str | Path) -> str:
    """"strings" (labels.csv), "boxes" (COCO annotations) or "masks" (M2NIST .npy or
    images/ + labels/ class-id PNGs), from what the data folder holds."""
    data = Path(data)
    if (data / LABELS_CSV).is_file():
        return "strings"
    if coco_files(data):
        return "boxes"
    return "masks"


def fingerprint(data: str | Path) -> str:
    """12 hex digits of SHA-256 over every file of the data folder (relative path and
    bytes, in path order): two sets with the same name but drawn by different generators,
    or edited since, do not share it. Files that evaluation writes (`metrics*`,
    `confusion*`) are left out."""
    root = Path(data)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.name.startswith(("metrics", "confusion")):
            continue
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:12]


def coco_files(data: Path) -> list[Path]:
    return sorted((data / "annotations").glob("instances_*.json")) if data.is_dir() else []


def read_string_labels(data: str | Path) -> list[tuple[Path, str]]:
    """(image path, label) rows of `labels.csv`, in file order."""
    path = Path(data) / LABELS_CSV
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"cannot read string labels ({exc})") from exc
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["filename", "label"]:
        raise InputError(path, "first row must be the header 'filename,label'")
    out = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) < 2 or not row[0].strip():
            raise InputError(path, f"line {number}: expected 'filename,label'")
        out.append((path.parent / row[0].strip(), row[1].strip()))
    return out


def read_coco(data: str | Path) -> list[tuple[Path, list[tuple[int, Box]]]]:
    """(image path, [(digit, (x, y, w, h))]) per image of the COCO file(s) under
    `annotations/`. Boxes of categories not named "0"-"9" are left out."""
    data = Path(data)
    out = []
    for path in coco_files(data):
        try:
            coco = json.loads(path.read_text(encoding="utf-8"))
            digits = {c["id"]: int(c["name"]) for c in coco["categories"]
                      if str(c["name"]).strip() in {str(d) for d in range(10)}}
            boxes: dict[int, list[tuple[int, Box]]] = {im["id"]: [] for im in coco["images"]}
            for ann in coco["annotations"]:
                if ann["category_id"] in digits:
                    x, y, w, h = (float(v) for v in ann["bbox"])
                    boxes[ann["image_id"]].append((digits[ann["category_id"]], (x, y, w, h)))
            for image in coco["images"]:
                name = image["file_name"]
                found = [p for p in (data / name, data / "images" / name) if p.is_file()]
                out.append((found[0] if found else data / "images" / name, boxes[image["id"]]))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(path, f"cannot read COCO annotations ({exc})") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(path, f"not COCO detection JSON ({type(exc).__name__}: {exc})") from exc
    return out
