"""Synthetic training and test images with pixel-exact labels (numpy + OpenCV only).

* `m2nist_sample`: 64x84 white-on-black images with 2-3 MNIST digits placed as M2NIST
  places them (or, `overlap=True`, 1-3 digits anywhere).
* `digit_rows`: tiles packed with rows of MNIST-format digits (training only).
* `document_page`: what a scan looks like -- textured, unevenly lit paper; dark ink of
  varying colour and stroke width; digit strings on ruled lines, in comb boxes, in table
  cells and free; touching neighbours; printed text, lines and boxes as distractors;
  slight rotation, blur, noise and JPEG artefacts.

Labels are class ids (`fcn8_ocr.classes`): a pixel is a digit where that digit's own
stroke covers at least half of it, background elsewhere (printed matter included).
"""

from __future__ import annotations

import math
import string

import cv2
import numpy as np

from fcn8_ocr.classes import BACKGROUND
from fcn8_ocr.normalise import shear_matrix

from .pen import pen_digit
from .sources import Digits

M2NIST_SHAPE = (64, 84)
M2NIST_BOX = 28     # an MNIST digit's box
M2NIST_JITTER = 10  # M2NIST's generator: box k starts 28k + 0..9 px from the left
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_COMPLEX,
          cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_PLAIN)
_WORDS = ("Total", "Amount", "Date", "No.", "Account", "Phone", "Invoice", "Qty", "Code",
          "Ref", "Signature", "Postal code", "Customer", "Page", "Form", "ID", "Sum")


def m2nist_sample(rng: np.random.Generator, digits: Digits, overlap: bool = False,
                  mask_level: int = 128, centres: list | None = None, slanted: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One M2NIST-style 64x84 image (white digits on black) and its class-id labels.

    Placed as M2NIST's own generator places them: 2 or 3 digits left to right, digit k's
    28 px box starting 28k + 0..9 px from the left edge at a random height, a box that would
    leave the canvas dropped (so a third digit in about 1 image in 20). Neighbouring boxes
    share at most 9 columns: digits may touch, rarely overlap. `overlap=True` instead puts
    1-3 digits anywhere, overlapping freely: the training default and a harder stress test.
    A digit pixel is one of intensity >= `mask_level` (1: every non-zero pixel, as M2NIST's
    own masks). Each digit's (centre y, centre x, height, digit) is appended to `centres` if given.
    A share `slanted` of digits lean right as running hands write (training only).
    """
    image = np.zeros(M2NIST_SHAPE, np.uint8)
    labels = np.full(M2NIST_SHAPE, BACKGROUND, np.uint8)
    count = rng.integers(1, 4) if overlap else rng.integers(2, 4)
    for k in range(count):
        i = rng.integers(len(digits))
        y = rng.integers(0, M2NIST_SHAPE[0] - M2NIST_BOX + 1)
        if overlap:
            x = rng.integers(0, M2NIST_SHAPE[1] - M2NIST_BOX + 1)
        else:
            x = M2NIST_BOX * k + rng.integers(0, M2NIST_JITTER)
            if x + M2NIST_BOX > M2NIST_SHAPE[1]:
                continue
        patch = digits.images[i]
        if slanted and rng.random() < slanted:
            patch = shear_about_centre(patch, rng.uniform(-0.55, -0.15))
        window = image[y : y + M2NIST_BOX, x : x + M2NIST_BOX]
        np.maximum(window, patch, out=window)
        labels[y : y + M2NIST_BOX, x : x + M2NIST_BOX][patch >= mask_level] = digits.labels[i]
        if centres is not None:
            centres.extend(ink_centres(patch >= 128, y, x, digits.labels[i]))
    return image, labels


def shear_about_centre(patch: np.ndarray, shear: float) -> np.ndarray:
    """`patch` sheared about its centre (negative: the top leans right)."""
    h, w = patch.shape
    return cv2.warpAffine(patch, shear_matrix(h, shear), (w, h), flags=cv2.INTER_LINEAR)


def lean_in_box(patch: np.ndarray, shear: float, fit: int = 20) -> np.ndarray:
    """A 28x28 MNIST-format digit sheared by `shear` (dx per dy, negative: the top leans
    right) and fitted back into a `fit` px box centred in 28 px (MNIST's is 20; other sets
    fill more of it): a steep lean makes a digit smaller and wider, never cut off."""
    wide = np.pad(patch, ((0, 0), (14, 14)))
    leaned = shear_about_centre(wide, shear)
    ys, xs = np.nonzero(leaned > 30)
    if len(ys) == 0:
        return patch
    ink = leaned[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    scale = fit / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    small = cv2.resize(ink, size, interpolation=cv2.INTER_AREA)
    out = np.zeros_like(patch)
    y, x = (out.shape[0] - small.shape[0]) // 2, (out.shape[1] - small.shape[1]) // 2
    out[y : y + small.shape[0], x : x + small.shape[1]] = small
    return out


def digit_rows(rng: np.random.Generator, digits: Digits, size: int, slanted: float = 0.5,
               lean: tuple[float, float] = (-1.0, -0.1), centres: list | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """A `size` x `size` white-on-black tile packed with rows of MNIST-format digits, as
    strips of segmented digits are laid out: 28 px boxes (all scaled by one factor of
    0.85-1.35) side by side 0-8 px apart, rows 0-12 px apart; a share `slanted` of them
    leaning by `lean` and refitted into 20-26 px (`lean_in_box`). Many digits' classes
    per tile (training only)."""
    image = np.zeros((size, size), np.uint8)
    labels = np.full((size, size), BACKGROUND, np.uint8)
    box = int(round(M2NIST_BOX * rng.uniform(0.85, 1.35)))
    y = int(rng.integers(0, 9))
    while y + box <= size:
        x = int(rng.integers(0, 9))
        while x + box <= size:
            i = rng.integers(len(digits))
            patch = digits.images[i]
            if rng.random() < slanted:
                patch = lean_in_box(patch, rng.uniform(*lean), int(rng.integers(20, 27)))
            patch = cv2.resize(patch, (box, box), interpolation=cv2.INTER_LINEAR)
            window = image[y : y + box, x : x + box]
            np.maximum(window, patch, out=window)
            inked = patch >= 128
            labels[y : y + box, x : x + box][inked] = digits.labels[i]
            if centres is not None:
                centres.extend(ink_centres(inked, y, x, digits.labels[i]))
            x += box + int(rng.integers(0, 9))
        y += box + int(rng.integers(0, 13))
    return image, labels


def digit_alpha(rng: np.random.Generator, img28: np.ndarray, height: float) -> np.ndarray:
    """Ink coverage (float32 0..1) of one MNIST digit drawn `height` px tall, with random
    slant, rotation, aspect and stroke width."""
    ys, xs = np.nonzero(img28 > 30)
    if len(ys) == 0:
        return np.zeros((max(1, int(height)), max(1, int(height // 2))), np.float32)
    crop = img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    h0, w0 = crop.shape
    scale = height / h0
    aspect = rng.uniform(0.8, 1.2)
    shear = rng.uniform(-0.5, 0.3)
    angle = math.radians(rng.uniform(-8, 8))
    pad = 2
    src = np.pad(crop, pad)
    # Map source -> destination: translate to centre, scale, shear, rotate, translate out.
    sx, sy = scale * aspect, scale
    c, s = math.cos(angle), math.sin(angle)
    lin = np.array([[c, -s], [s, c]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    out_h = int(math.ceil(abs(lin[1, 0]) * (w0 + 2 * pad) + abs(lin[1, 1]) * (h0 + 2 * pad)))
    out_w = int(math.ceil(abs(lin[0, 0]) * (w0 + 2 * pad) + abs(lin[0, 1]) * (h0 + 2 * pad)))
    centre_src = np.array([(w0 + 2 * pad) / 2, (h0 + 2 * pad) / 2])
    centre_dst = np.array([out_w / 2, out_h / 2])
    matrix = np.hstack([lin, (centre_dst - lin @ centre_src)[:, None]]).astype(np.float32)
    soft = cv2.warpAffine(src, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR)
    # Upsampled MNIST is a soft field: cutting it at a random level sets the stroke width,
    # a ramp about one pixel wide keeps antialiased edges.
    # Pens draw strokes of roughly fixed width, so tall digits are cut thinner.
    level = rng.uniform(0.2, 0.6) if height < 40 else rng.uniform(0.45, 0.8)
    ramp = min(0.25, 0.9 / max(scale, 1.0))
    alpha = np.clip((soft - level) / ramp + 0.5, 0.0, 1.0)
    return alpha.astype(np.float32)


def ink_centres(inked: np.ndarray, y: float, x: float, digit: int
                ) -> list[tuple[float, float, float, int]]:
    """[(centre y, centre x, height, digit)] of the box around the True pixels of `inked`
    placed at (y, x); empty when nothing is inked."""
    ys, xs = np.nonzero(inked)
    if len(ys) == 0:
        return []
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return [(y + (y0 + y1) / 2, x + (x0 + x1) / 2, float(y1 - y0), int(digit))]


def _paper(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Light paper (float32 BGR) with texture and uneven lighting."""
    base = rng.uniform(185, 250)
    tint = rng.normal(0, 6, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.normal(0, 0.12, 2)
    light = 1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    if rng.random() < 0.5:  # a shadow or vignette
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (max(h, w) ** 2)
        light -= rng.uniform(0.0, 0.25) * np.clip(r2, 0, 1)
    coarse = rng.normal(0, 1, (max(2, h // 48), max(2, w // 48))).astype(np.float32)
    texture = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC) * rng.uniform(0, 6)
    grey = base * light + texture
    return np.clip(grey[..., None] + tint, 0, 255).astype(np.float32)


def _ink_colour(rng: np.random.Generator) -> np.ndarray:
    kind = rng.random()
    if kind < 0.45:  # black / graphite
        v = rng.uniform(10, 110)
        return np.array([v, v, v]) + rng.normal(0, 4, 3)
    if kind < 0.85:  # blue ballpoint (BGR)
        return np.array([rng.uniform(110, 190), rng.uniform(30, 90), rng.uniform(10, 50)])
    return np.array([rng.uniform(10, 60), rng.uniform(10, 60), rng.uniform(120, 190)])  # red


def _composite(canvas: np.ndarray, alpha: np.ndarray, colour: np.ndarray, y: int, x: int
               ) -> tuple[slice, slice, np.ndarray] | None:
    """Blend `alpha` in `colour` onto `canvas` at (y, x), clipped; returns the window."""
    h, w = alpha.shape
    y0, x0 = max(y, 0), max(x, 0)
    y1, x1 = min(y + h, canvas.shape[0]), min(x + w, canvas.shape[1])
    if y1 <= y0 or x1 <= x0:
        return None
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    win = canvas[y0:y1, x0:x1]
    win *= 1 - a[..., None]
    win += a[..., None] * colour
    return slice(y0, y1), slice(x0, x1), a


def _random_text(rng: np.random.Generator) -> str:
    if rng.random() < 0.6:
        words = rng.choice(_WORDS, size=rng.integers(1, 4))
        return " ".join(words) + (":" if rng.random() < 0.5 else "")
    letters = string.ascii_letters + "  "
    return "".join(rng.choice(list(letters), size=rng.integers(4, 18)))


def _put_text(printed: np.ndarray, rng: np.random.Generator, text: str, x: int, baseline: int,
              cap_height: float) -> int:
    """Draw printed `text` into the printed-ink layer; returns its right edge."""
    font = int(rng.choice(_FONTS))
    (tw, th), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = cap_height / max(th, 1)
    thickness = max(1, int(round(scale * rng.uniform(1.0, 2.2))))
    cv2.putText(printed, text, (int(x), int(baseline)), font, scale, 255, thickness, cv2.LINE_AA)
    (tw, _), _ = cv2.getTextSize(text, font, scale, thickness)
    return int(x + tw)


def document_page(rng: np.random.Generator, digits: Digits, height: int, width: int,
                  digit_height: tuple[float, float] = (15, 120), colour: bool = True,
                  degrade: bool = True, pen: float = 0.0, centres: list | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """One scan-like page: BGR (or grey) uint8 image and its class-id labels.

    `digit_height` is the range of handwritten digit heights in pixels (log-uniform per
    row, so one page holds several scales). `pen`: share of digits re-drawn with a thin
    pen (`pen.pen_digit`). Digit centres and heights are appended to `centres` if given.
    """
    draw = {"pen": pen, "centres": [] if centres is not None else None}
    canvas = _paper(rng, height, width)
    labels = np.full((height, width), BACKGROUND, np.uint8)
    printed = np.zeros((height, width), np.uint8)
    lo, hi = math.log(digit_height[0]), math.log(digit_height[1])
    page_ink = _ink_colour(rng)
    print_colour = np.full(3, rng.uniform(0, 70))
    y = int(rng.uniform(-0.5, 0.3) * math.exp(hi))
    while y < height:
        h = math.exp(rng.uniform(lo, hi))
        kind = rng.choice(["ruled", "comb", "free", "text", "table", "blank"],
                          p=[0.27, 0.18, 0.2, 0.15, 0.1, 0.1])
        line_w = max(1, int(round(h / rng.uniform(20, 45))))
        row_h = int(h * rng.uniform(1.4, 2.0))
        baseline = y + int(h * rng.uniform(1.1, 1.3))
        ink = page_ink if rng.random() < 0.8 else _ink_colour(rng)
        x = int(rng.uniform(-0.2, 0.15) * width)
        if kind == "text":
            _put_text(printed, rng, _random_text(rng), x, y + int(h * 0.8), h * rng.uniform(0.3, 0.6))
        elif kind == "ruled":
            cv2.line(printed, (0, baseline), (width, baseline), int(rng.uniform(90, 200)), line_w)
            if rng.random() < 0.5:
                x = _put_text(printed, rng, _random_text(rng), x, baseline - 2,
                              h * rng.uniform(0.3, 0.55)) + int(h * 0.5)
            while x < width:
                x = _draw_string(rng, canvas, labels, digits, x, baseline, h, ink, **draw)
                x += int(h * rng.uniform(0.8, 4.0))
        elif kind == "comb":
            box_w = int(h * rng.uniform(1.0, 1.5))
            top = baseline - int(h * rng.uniform(1.15, 1.35))
            n_boxes = int(rng.integers(3, 12))
            for i in range(n_boxes):
                bx = x + i * box_w
                cv2.rectangle(printed, (bx, top), (bx + box_w, baseline + int(h * 0.1)),
                              int(rng.uniform(120, 255)), line_w)
                if rng.random() < 0.85:
                    _draw_string(rng, canvas, labels, digits, bx + int(box_w * 0.2), baseline,
                                 h * rng.uniform(0.75, 0.95), ink, count=1, **draw)
        elif kind == "table":
            cell_w = int(h * rng.uniform(2.5, 5.0))
            top = y
            cv2.line(printed, (0, top), (width, top), 200, line_w)
            cv2.line(printed, (0, baseline + int(h * 0.3)), (width, baseline + int(h * 0.3)),
                     200, line_w)
            for cx in range(x, width, cell_w):
                cv2.line(printed, (cx, top), (cx, baseline + int(h * 0.3)), 200, line_w)
                if rng.random() < 0.7:
                    _draw_string(rng, canvas, labels, digits, cx + int(h * 0.3), baseline,
                                 h * 0.85, ink, count=int(rng.integers(1, 4)), **draw)
        elif kind == "free":
            while x < width:
                jitter = int(rng.normal(0, h * 0.15))
                x = _draw_string(rng, canvas, labels, digits, x, baseline + jitter, h, ink, **draw)
                x += int(h * rng.uniform(1.0, 6.0))
        y += row_h if kind != "blank" else int(row_h * rng.uniform(0.3, 1.0))

    # Printed matter sits under the handwriting: blend it first would need a second pass,
    # so blend it only where no handwriting label was set and darken less there.
    printed_a = printed.astype(np.float32) / 255.0
    printed_a[labels != BACKGROUND] *= 0.0
    _composite(canvas, printed_a, print_colour, 0, 0)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    if degrade:
        image, labels = _degrade(rng, image, labels, draw["centres"])
    if centres is not None:
        centres.extend(draw["centres"])
    if not colour:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image, labels


TOUCHING_GAP, GAP = (-0.06, 0.03), (0.05, 0.6)  # space between strokes, in digit heights


def row_extent(alpha: np.ndarray, right: bool) -> np.ndarray:
    """Per row of a digit's coverage, its leftmost (or rightmost) ink column; NaN where
    the row holds no ink."""
    inked = alpha >= 0.5
    column = (alpha.shape[1] - 1 - inked[:, ::-1].argmax(1)) if right else inked.argmax(1)
    return np.where(inked.any(1), column, np.nan)


def place_beside(previous: tuple[int, np.ndarray], alpha: np.ndarray, top: int, gap: float,
                 fallback: float) -> float:
    """The x at which `alpha` (placed at row `top`) leaves `gap` pixels between its strokes
    and the previous digit's (`previous`: its top row and, per row, its rightmost ink x)
    in the rows they share; negative gaps overlap. `fallback` when they share none."""
    previous_top, right = previous
    left = row_extent(alpha, right=False)
    y0, y1 = max(previous_top, top), min(previous_top + len(right), top + len(left))
    if y1 <= y0:
        return fallback
    need = right[y0 - previous_top : y1 - previous_top] - left[y0 - top : y1 - top] + gap
    return float(np.nanmax(need)) if np.isfinite(need).any() else fallback


def _draw_string(rng: np.random.Generator, canvas: np.ndarray, labels: np.ndarray,
                 digits: Digits, x: int, baseline: int, h: float, ink: np.ndarray,
                 count: int | None = None, pen: float = 0.0, centres: list | None = None) -> int:
    """Write a handwritten digit string whose baseline is at `baseline`; returns its end x."""
    count = int(rng.integers(1, 9)) if count is None else count
    touching = rng.random() < 0.25
    previous, end = None, x
    for _ in range(count):
        i = int(rng.integers(len(digits)))
        dh = h * rng.uniform(0.85, 1.1)
        if pen and rng.random() < pen:
            alpha = pen_digit(rng, digits.images[i], dh)
        else:
            alpha = digit_alpha(rng, digits.images[i], dh)
        ah, aw = alpha.shape
        top = baseline - ah + int(rng.normal(0, h * 0.04))
        # the space is between strokes (touching: they meet), as fields.draw_number
        gap = rng.uniform(*TOUCHING_GAP) if touching else rng.uniform(*GAP)
        if previous is not None:
            x = int(place_beside(previous, alpha, top, gap * h, x))
        window = _composite(canvas, alpha, ink + rng.normal(0, 5, 3), top, x)
        if centres is not None:
            centres.extend(ink_centres(alpha >= 0.5, top, x, digits.labels[i]))
        if window is not None:
            ys, xs, a = window
            labels[ys, xs][a >= 0.5] = digits.labels[i]
        previous = (top, x + row_extent(alpha, right=True))
        x, end = x + aw, max(end, x + aw)
    return end


def _degrade(rng: np.random.Generator, image: np.ndarray, labels: np.ndarray,
             centres: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Scanner effects: slight rotation, blur, noise, specks and JPEG artefacts (`centres`
    are rotated with the page, in place)."""
    h, w = labels.shape
    if rng.random() < 0.7:
        angle = rng.uniform(-2.5, 2.5)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        image = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        labels = cv2.warpAffine(labels, matrix, (w, h), flags=cv2.INTER_NEAREST,
                                borderValue=BACKGROUND)
        if centres:
            points = np.array([[x, y, 1.0] for y, x, *_ in centres]) @ matrix.T
            centres[:] = [(py, px, *c[2:]) for (px, py), c in zip(points, centres, strict=True)]
    if rng.random() < 0.6:
        sigma = rng.uniform(0.3, 1.2)
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    noisy = image.astype(np.float32) + rng.normal(0, rng.uniform(1, 9), image.shape[:2])[..., None]
    if rng.random() < 0.3:  # dust specks
        n = int(rng.integers(1, 40))
        for _ in range(n):
            cv2.circle(noisy, (int(rng.integers(w)), int(rng.integers(h))),
                       int(rng.integers(1, 2 + min(h, w) // 400)), float(rng.uniform(40, 150)), -1)
    image = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        quality = int(rng.integers(35, 96))
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return image, labels
