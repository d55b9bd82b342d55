"""`fcn8-ocr synth`: write synthetic datasets to disk (images/ + labels/, M2NIST .npy)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from fcn8_ocr.classes import BACKGROUND, NUM_CLASSES
from fcn8_ocr.config import SYNTH_DEFAULTS as SYNTH
from fcn8_ocr.write import atomic_write, write_png

from .fields import register_field
from .sources import SPLIT_SEED, load_digits, split_digits
from .synth import document_page, m2nist_sample

KINDS = ("m2nist", "m2nist-overlap", "document", "field")


def field_label(centres: list) -> str:
    """A field's string label: its digits left to right."""
    return "".join(str(c[3]) for c in sorted(centres, key=lambda c: c[1]))


FRAME = 3


def whole_field(rng: np.random.Generator, digits, size: tuple[int, int],
                digit_height: tuple[float, float]) -> tuple:
    """A field crop (`register_field`) whose digits all lie inside it, none cut at an edge,
    so its string label is what can be read (drawn again until so): no digit pixel lies in
    the outer `FRAME` pixels, where the runner would take its ink for a digit cut by the edge."""
    width, height = size
    f = FRAME
    while True:
        image, labels, centres = register_field(rng, digits, height, width, digit_height, whole=True)
        border = np.concatenate([labels[:f].ravel(), labels[-f:].ravel(), labels[:, :f].ravel(),
                                 labels[:, -f:].ravel()])
        inside = all(0.3 * h <= x <= width - 0.3 * h and 0.55 * h <= y <= height - 0.55 * h
                     for y, x, h, _ in centres)
        if centres and inside and (border == BACKGROUND).all():
            return image, labels, centres


def write_synthetic(kind: str, count: int, out: str | Path, seed: int = SYNTH.seed,
                    split: str = SYNTH.split, mnist: str | None = None,
                    size: tuple[int, int] = SYNTH.size,
                    digit_height: tuple[float, float] = SYNTH.digit_height,
                    mask_level: int = SYNTH.mask_level) -> Path:
    """Deterministic for (kind, count, seed, split, source): images/<kind>_<i>.{png,jpg},
    labels/<same stem>.png, and for the M2NIST kinds also combined.npy + segmented.npy.

    `kind`: "m2nist" (placed as M2NIST places digits), "m2nist-overlap" (digits anywhere,
    overlapping freely), "document" (scan-like pages) or "field" (register-like field
    crops of `size`, also with the digit string of each in `labels.csv`). `mask_level`:
    M2NIST kinds label pixels of at least this intensity (1: every non-zero pixel, as
    M2NIST's own masks)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    m2nist = kind.startswith("m2nist")
    out = Path(out)
    digits = split_digits(load_digits(mnist), split)
    images, label_maps, strings = [], [], []
    for i in range(count):
        rng = np.random.default_rng([seed, i, 0 if m2nist else 1])
        stem = f"{kind}_{seed}_{i:05d}"
        if m2nist:
            image, labels = m2nist_sample(rng, digits, kind == "m2nist-overlap", mask_level)
            write_png(out / "images" / f"{stem}.png", image)
            images.append(image)
            label_maps.append(labels)
        else:
            if kind == "field":
                image, labels, centres = whole_field(rng, digits, size, digit_height)
                strings.append((f"images/{stem}.jpg", field_label(centres)))
            else:
                image, labels = document_page(rng, digits, size[1], size[0], digit_height)
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
            atomic_write(out / "images" / f"{stem}.jpg", buf.tobytes())
        write_png(out / "labels" / f"{stem}.png", labels)
    if kind == "field":
        rows = "".join(f"{name},{text}\n" for name, text in strings)
        atomic_write(out / "labels.csv", ("filename,label\n" + rows).encode())
    if m2nist:
        combined = np.stack(images)
        onehot = np.eye(NUM_CLASSES, dtype=np.uint8)[np.stack(label_maps)]
        assert onehot.shape[-1] == BACKGROUND + 1
        np.save(out / "combined.npy", combined)
        np.save(out / "segmented.npy", onehot)
    info = {"kind": kind, "count": count, "seed": seed, "split": split, "split_seed": SPLIT_SEED,
            "digits": digits.source, "size": list(size), "digit_height": list(digit_height),
            "mask_level": mask_level}
    atomic_write(out / "synth.json", json.dumps(info, indent=2).encode())
    return out
