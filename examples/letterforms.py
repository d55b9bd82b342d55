"""Draw docs/img/letterforms.png: each continental letterform of the training digits, as
drawn (28x28, white on black) and through the pen pipeline (dark ink, 40 px tall).

    python examples/letterforms.py [--out docs/img/letterforms.png]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from fcn8_ocr.train.letterforms import FORMS, draw_form
from fcn8_ocr.train.pen import pen_digit

CELL = 56


def _cell(coverage: np.ndarray) -> np.ndarray:
    canvas = np.zeros((CELL, CELL), np.float32)
    h, w = (min(s, CELL - 4) for s in coverage.shape)
    canvas[2 : 2 + h, 2 : 2 + w] = coverage[:h, :w]
    return 255 - (canvas * 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/img/letterforms.png")
    parser.add_argument("--samples", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for label in FORMS:
        drawn = [draw_form(rng, label) for _ in range(args.samples)]
        rows.append(np.hstack([cv2.resize(d, (CELL, CELL), interpolation=cv2.INTER_NEAREST)
                               for d in drawn]
                              + [_cell(pen_digit(rng, d, 40)) for d in drawn]))
    cv2.imwrite(args.out, np.vstack(rows))
    print(args.out)


if __name__ == "__main__":
    main()
