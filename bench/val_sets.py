"""The synthetic validation sets checkpoints and runner settings are chosen on
(docs/model.md), drawn from the val split of MNIST only:

    python bench/val_sets.py --out ~/fcn8-val --mnist ../shared/data/mnist-train
    python bench/val_sets.py --out ~/fcn8-val --score fcn8_ocr/models/default.onnx

Sets: field crops of 138x204 px (seeds 5 and 7; 9 with a handwritten word in every crop;
11 with touching digits by narrow hands in every crop), `forms` (field crops of the drawn
continental letterforms only, the S-shaped 5 left out), MNIST val strips of 5 upright
(`strips`), leaning -0.5 and -0.8 dx per dy (`slant`, `slant8`) and each digit its own
lean of -1.0 to 0.1 (`slantmix`), 500 M2NIST-style images (`m2`) and 20 A4 pages at 300
dpi with digits 40-120 px tall, each row its own height (`pages`, as `document-test`), and
20 of 1240x1754 with digits 30-90 px (`midpages`, as the example pages). Never
the evaluation-only real sets: those are measured, not chosen on. `--score` also prints
`rule_mean`, the figure candidates are chosen by (RULE_SETS).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1]))
from bench.real import write_strips  # noqa: E402

FIELD_SIZE, FIELD_HEIGHTS = (138, 204), (18.0, 40.0)
SETS = ("f5", "f7", "f9", "f11", "forms", "strips", "slant", "slant8", "slantmix", "m2", "pages",
        "midpages")
# the figure candidates are chosen by (docs/model.md): the mean of these string accuracies,
# with M2NIST val IoU (`m2`) at least 0.965. Until real-v29 it also counted `cp`, strips
# drawn by a script that was never committed; candidates since are scored without it
# (and, after real-v30, replace the bundled model only when 0.005 or more above it)
RULE_SETS = ("slantmix", "slant8", "strips", "forms", "fields_mean")


def _lean(image: np.ndarray, shear: float) -> np.ndarray:
    """A 28x28 digit sheared (top to the right for negative `shear`), re-centred in 28 px."""
    from fcn8_ocr.train.synth import shear_about_centre

    leaned = shear_about_centre(np.pad(image, ((0, 0), (6, 6))), shear)
    xs = np.nonzero(leaned > 20)[1]
    centred = leaned[:, max(0, (xs.min() + xs.max()) // 2 - 14):][:, :28]
    return np.pad(centred, ((0, 0), (0, 28 - centred.shape[1])))


def _forms(out: Path) -> None:
    from fcn8_ocr.train.letterforms import continental_digits
    from fcn8_ocr.train.sources import Digits
    from fcn8_ocr.train.synthesize import field_label, whole_field

    drawn = continental_digits(60, seed=13)
    # the forms drawn before the S-shaped 5 was added, so the set stays the one the figures
    # in docs/model.md were measured on (FORMS grew at its end: the others are unchanged)
    kept = drawn.labels != 5
    forms = Digits(drawn.images[kept], drawn.labels[kept], drawn.source)
    rng = np.random.default_rng(13)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for n in range(300):
        image, _, centres = whole_field(rng, forms, FIELD_SIZE, FIELD_HEIGHTS)
        name = f"images/form_{n:04d}.jpg"
        cv2.imwrite(str(out / name), image)
        rows.append((name, field_label(centres)))
    with (out / "labels.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([("filename", "label"), *rows])


def write_val_sets(out: Path, mnist: str) -> None:
    """Every set of SETS under `out` (skipping those already there)."""
    from fcn8_ocr.train import fields
    from fcn8_ocr.train.sources import load_digits, split_digits
    from fcn8_ocr.train.synthesize import write_synthetic

    kw = dict(split="val", mnist=mnist, size=FIELD_SIZE, digit_height=FIELD_HEIGHTS)
    words, touching, narrow = fields.WORDS, fields.TOUCHING, fields.NARROW_HANDS
    variants = {"f5": (5, {}), "f7": (7, {}), "f9": (9, {"WORDS": 1.0}),
                "f11": (11, {"TOUCHING": 1.0, "NARROW_HANDS": 1.0})}
    for name, (seed, settings) in variants.items():
        if (out / name).exists():
            continue
        for key, value in settings.items():
            setattr(fields, key, value)
        try:
            write_synthetic("field", 400, out / name, seed=seed, **kw)
        finally:
            fields.WORDS, fields.TOUCHING, fields.NARROW_HANDS = words, touching, narrow
    if not (out / "forms").exists():
        _forms(out / "forms")
    digits = split_digits(load_digits(mnist), "val")
    if not (out / "strips").exists():
        write_strips(digits.images, digits.labels, out / "strips", seed=1)
    for name, shear, seed in (("slant", -0.5, 2), ("slant8", -0.8, 3)):
        if not (out / name).exists():
            leaned = np.stack([_lean(x, shear) for x in digits.images[:3000]])
            write_strips(leaned, digits.labels[:3000], out / name, seed=seed)
    if not (out / "slantmix").exists():
        shears = np.random.default_rng(4).uniform(-1.0, 0.1, 3000)
        leaned = np.stack([_lean(x, s) for x, s in zip(digits.images[3000:6000], shears, strict=True)])
        write_strips(leaned, digits.labels[3000:6000], out / "slantmix", seed=5)
    if not (out / "m2").exists():
        write_synthetic("m2nist", 500, out / "m2", seed=21, split="val", mnist=mnist)
    # the page sets runner changes for pages are chosen on: A4 as `document-test`, and the
    # example pages' size
    for name, seed, size, heights in (("pages", 41, (2480, 3508), (40.0, 120.0)),
                                      ("midpages", 43, (1240, 1754), (30.0, 90.0))):
        if not (out / name).exists():
            write_synthetic("document", 20, out / name, seed=seed, split="val", mnist=mnist,
                            size=size, digit_height=heights)


def score(model: str, out: Path, sets: list[str]) -> dict:
    """String accuracy (fields, strips) or mean digit IoU (m2, pages, midpages) of `model`
    on each set."""
    from fcn8_ocr.evaluate import evaluate

    figures = {}
    for name in sets:
        report = evaluate(model, out / name)
        value = report.get("string_accuracy")
        figures[name] = round(report["mean_digit_iou"] if value is None else value, 4)
    fields_ = [figures[k] for k in ("f5", "f7", "f9", "f11") if k in figures]
    if len(fields_) == 4:
        figures["fields_mean"] = round(sum(fields_) / 4, 4)
    rule = [figures[k] for k in RULE_SETS if k in figures]
    if len(rule) == len(RULE_SETS):
        figures["rule_mean"] = round(sum(rule) / len(rule), 4)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mnist", default=None, help="The full MNIST training set (idx files).")
    parser.add_argument("--score", metavar="MODEL", default=None)
    parser.add_argument("--sets", default=",".join(SETS))
    args = parser.parse_args()
    if args.mnist:
        write_val_sets(args.out, args.mnist)
    if args.score:
        print(args.score, json.dumps(score(args.score, args.out, args.sets.split(","))))


if __name__ == "__main__":
    main()
