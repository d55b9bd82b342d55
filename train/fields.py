"""Field crops that look like real register and form scans, with pixel-exact labels.

One handwritten number (1-5 digits, thin pen, half the time touching, some joined by
hairlines, underlined or followed by a period) on paper with what real scans carry
around it: the scanner's black margin, column borders, ruled lines, printed words and
numbers, handwritten words, pen marks that are not digits, bleed-through from the other
side, guilloche security lines and stamps, and (in string-labelled crops) the next
column's digits cut by the crop's edge; then blur, noise and JPEG. Everything but the
digits is labelled background.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fcn8_ocr.classes import BACKGROUND

from .pen import MARKS, SHEAR, pen_digit, pen_mark, pen_word
from .sources import Digits
from .synth import GAP, TOUCHING_GAP, digit_alpha, ink_centres, place_beside, row_extent

Centre = tuple[float, float, float, int]  # (y, x, digit height) in image pixels, digit
_FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX, cv2.FONT_HERSHEY_TRIPLEX,
          cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_COMPLEX_SMALL, cv2.FONT_ITALIC)
_PRINTED = ("Trykt for Kirkens", "No.", "Anm.", "Dato", "Total", "Kr.", "Sum", "Nr", "Aar",
            "Folio", "Side", "Amount", "Date", "Ref", "Trykt for Kirkens Korsh.", "Fol.", "Pag.")
FAINT = 0.2  # share of fields written in pencil or faded ink
NEIGHBOURS = 0.3  # share of string-labelled crops that cut through the next column's digits
TOUCHING = 0.5  # share of numbers whose digits touch (half of them joined by hairlines)
# share of numbers written by a narrow hand, and its width factor: register hands write
# tall, narrow digits (about half a digit height wide), MNIST's are rounder
NARROW_HANDS, NARROW_WIDTH = 0.4, (0.55, 0.85)
WORDS = 0.4  # share of crops with a handwritten word (names, abbreviations) beside the number


def _blend(canvas: np.ndarray, alpha: np.ndarray, ink: float, y: int, x: int) -> tuple | None:
    """Blend `alpha` in grey level `ink` onto `canvas` at (y, x), clipped; the window drawn."""
    h, w = alpha.shape
    y0, x0, y1, x1 = max(y, 0), max(x, 0), min(y + h, canvas.shape[0]), min(x + w, canvas.shape[1])
    if y1 <= y0 or x1 <= x0:
        return None
    a = alpha[y0 - y : y1 - y, x0 - x : x1 - x]
    window = canvas[y0:y1, x0:x1]
    window += a * (ink - window)
    return slice(y0, y1), slice(x0, x1), a


def _paper(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    level = rng.uniform(150, 250) if rng.random() < 0.3 else rng.uniform(205, 250)
    coarse = cv2.resize(rng.normal(0, 1, (max(2, h // 24), max(2, w // 24))).astype(np.float32),
                        (w, h), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, rng.uniform(0, 6), (h, w)).astype(np.float32)
    gy, gx = rng.normal(0, 0.08, 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    return (level * light + coarse * rng.uniform(0, 8) + grain).astype(np.float32)


def _scanner_margin(rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
    """A dark band at one edge with a ragged, slightly tilted border (the scanner's lid);
    returns its coverage (0..1)."""
    h, w = canvas.shape
    vertical = rng.random() < 0.8
    length, depth = (h, w) if vertical else (w, h)
    width = rng.uniform(0.05, 0.45) * depth
    edge = width + np.cumsum(rng.normal(0, 0.4, length)) + np.linspace(0, rng.normal(0, 3), length)
    edge = np.clip(edge, 0, depth).astype(np.float32)
    ramp = np.arange(depth, dtype=np.float32)[None, :]
    inside = np.clip((edge[:, None] - ramp) / rng.uniform(0.5, 3.0), 0, 1)  # (length, depth)
    if rng.random() < 0.5:
        inside = inside[:, ::-1]
    if not vertical:
        inside = inside.T
    dark = rng.uniform(0, 45) + rng.normal(0, 3, inside.shape).astype(np.float32)
    canvas += inside * (dark - canvas)
    if rng.random() < 0.5:  # the page's own edge: a thin lighter or darker line beside the band
        shade = cv2.dilate(inside, np.ones((3, 3), np.uint8)) - inside
        canvas += shade * (rng.uniform(60, 200) - canvas)
    return inside


def _rule(rng: np.random.Generator, canvas: np.ndarray, vertical: bool, at: float, ink: float,
          width: int) -> None:
    """A straight printed line across the field, slightly tilted, sometimes broken."""
    h, w = canvas.shape
    layer = np.zeros((h, w), np.float32)
    tilt = rng.normal(0, 0.01) * (h if vertical else w)
    if vertical:
        p0, p1 = (int(at), 0), (int(at + tilt), h)
    else:
        p0, p1 = (0, int(at)), (w, int(at + tilt))
    cv2.line(layer, p0, p1, 1.0, width, cv2.LINE_AA)
    if rng.random() < 0.3:  # worn print: gaps along the line
        gaps = cv2.resize((rng.random((8, 8)) > 0.25).astype(np.float32), (w, h),
                          interpolation=cv2.INTER_NEAREST)
        layer *= gaps
    canvas += layer * rng.uniform(0.5, 1.0) * (ink - canvas)


def _printed(rng: np.random.Generator, canvas: np.ndarray, height: float, ink: float) -> None:
    """Printed words or numbers somewhere on the field (background)."""
    h, w = canvas.shape
    layer = np.zeros((h, w), np.uint8)
    if rng.random() < 0.5:
        text = str(rng.choice(_PRINTED))
    else:
        text = "".join(rng.choice(list("0123456789"), size=rng.integers(1, 5)))
    font = int(rng.choice(_FONTS))
    (_, th), _ = cv2.getTextSize("H", font, 1.0, 1)
    scale = height * rng.uniform(0.25, 0.7) / max(th, 1)
    x, y = int(rng.uniform(-0.2, 0.8) * w), int(rng.uniform(0.1, 1.0) * h)
    bold = rng.uniform(1.0, 2.5) if rng.random() < 0.5 else 1.0  # real type is heavier than Hershey's
    cv2.putText(layer, text, (x, y), font, scale, 255, max(1, int(round(scale * bold))), cv2.LINE_AA)
    if rng.random() < 0.3:
        layer = cv2.GaussianBlur(layer, (0, 0), rng.uniform(0.4, 1.0))
    canvas += layer.astype(np.float32) / 255.0 * (ink - canvas)


def _guilloche(rng: np.random.Generator, canvas: np.ndarray) -> None:
    """Fine wavy security lines across the field (cheques)."""
    h, w = canvas.shape
    layer = np.zeros((h, w), np.float32)
    xs = np.arange(w)
    period, amp = rng.uniform(10, 40), rng.uniform(2, 10)
    for _ in range(int(rng.integers(3, 12))):
        phase = rng.uniform(0, 2 * math.pi)
        y0 = rng.uniform(0, h)
        ys = y0 + amp * np.sin(2 * math.pi * xs / period + phase)
        cv2.polylines(layer, [np.stack([xs, ys], 1).astype(np.int32)], False, 1.0, 1, cv2.LINE_AA)
    canvas += layer * rng.uniform(0.2, 0.6) * (rng.uniform(80, 200) - canvas)


def _stamp(rng: np.random.Generator, canvas: np.ndarray, height: float) -> None:
    h, w = canvas.shape
    layer = np.zeros((h, w), np.uint8)
    r = int(height * rng.uniform(1.0, 2.5))
    centre = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
    cv2.circle(layer, centre, r, 255, max(1, r // 12), cv2.LINE_AA)
    cv2.circle(layer, centre, int(r * 0.75), 255, 1, cv2.LINE_AA)
    cv2.putText(layer, str(rng.choice(_PRINTED)), (centre[0] - r // 2, centre[1]),
                cv2.FONT_HERSHEY_PLAIN, r / 40, 255, 1, cv2.LINE_AA)
    canvas += layer.astype(np.float32) / 255.0 * rng.uniform(0.3, 0.7) * (rng.uniform(60, 160) - canvas)


def _ink_end(alpha: np.ndarray, top: int, left: int, first: bool) -> tuple[int, int] | None:
    """(y, x) in canvas pixels of a digit's leftmost (`first`) or rightmost ink in its lower half."""
    lower = alpha[alpha.shape[0] // 2 :] >= 0.5
    ys, xs = np.nonzero(lower)
    if len(xs) == 0:
        return None
    k = int(np.argmin(xs) if first else np.argmax(xs))
    return top + alpha.shape[0] // 2 + int(ys[k]), left + int(xs[k])


def _ligature(rng: np.random.Generator, canvas: np.ndarray, start: tuple[int, int] | None,
              end: tuple[int, int] | None, pen: float, ink: float) -> None:
    """A thin connecting stroke between two digits (background: it is neither digit)."""
    if start is None or end is None:
        return
    layer = np.zeros_like(canvas)
    sag = int(rng.uniform(0, 1) * pen)  # the hairline dips by up to a pen width
    middle = ((start[1] + end[1]) // 2, max(start[0], end[0]) + sag)
    cv2.polylines(layer, [np.array([start[::-1], middle, end[::-1]], np.int32)], False, 1.0,
                  max(1, int(round(pen * rng.uniform(0.5, 0.9)))), cv2.LINE_AA)
    canvas += layer * (ink - canvas)


def _cut_neighbour(rng: np.random.Generator, canvas: np.ndarray, digits: Digits, height: float,
                   ink: float, pen: float) -> None:
    """A digit of the next column or row, cut by the crop's edge so that 20-70 % of it
    shows: not the field's number (a string-labelled crop holds only its own number)."""
    h, w = canvas.shape
    i = int(rng.integers(len(digits)))
    alpha = pen_digit(rng, digits.images[i], height * rng.uniform(0.85, 1.12),
                      (pen / height * 0.8, pen / height * 1.2))
    ah, aw = alpha.shape
    side = rng.choice(["left", "right", "top", "bottom"], p=[0.2, 0.5, 0.15, 0.15])
    shown = rng.uniform(0.2, 0.7)
    if side in ("left", "right"):
        y = int(rng.uniform(0.2, 0.8) * h - ah / 2)
        x = int(aw * shown - aw) if side == "left" else int(w - aw * shown)
    else:
        x = int(rng.uniform(0.1, 0.8) * w)
        y = int(ah * shown - ah) if side == "top" else int(h - ah * shown)
    _blend(canvas, alpha, ink + rng.normal(0, 4), y, x)


def _word(rng: np.random.Generator, canvas: np.ndarray, number: tuple[float, float, float, float],
          height: float, ink: float, pen: float) -> None:
    """A handwritten word (background) somewhere on the crop clear of the number's box
    (x0, y0, x1, y1), often cut by the crop's edge as the next row's or column's text is."""
    alpha = pen_word(rng, height, pen * rng.uniform(0.7, 1.3))
    ah, aw = alpha.shape
    h, w = canvas.shape
    for _ in range(5):
        y, x = int(rng.uniform(-0.5 * ah, h - 0.5 * ah)), int(rng.uniform(-0.5 * aw, w - 0.5 * aw))
        if x > number[2] or x + aw < number[0] or y > number[3] or y + ah < number[1]:
            _blend(canvas, alpha, ink + rng.normal(0, 8), y, x)
            return


def draw_number(rng: np.random.Generator, canvas: np.ndarray, labels: np.ndarray,
                digits: Digits, x: float, baseline: float, height: float, ink: float,
                count: int, centres: list[Centre], pen_share: float = 0.85) -> tuple[float, float]:
    """Hand-write `count` digits left to right from `x` on `baseline`; returns (end x, pen width).

    Digit pixels (coverage >= 0.5) are labelled with their class; each digit's centre and
    height go to `centres`.
    """
    touching = rng.random() < TOUCHING
    joined = touching and rng.random() < 0.5
    pen = rng.uniform(0.05, 0.13) * height
    slant = rng.uniform(*SHEAR)  # one hand: one slant and width for the whole number
    narrow = rng.uniform(*NARROW_WIDTH) if rng.random() < NARROW_HANDS else 1.0
    previous_end, previous_edge, end = None, None, x
    for _ in range(count):
        i = int(rng.integers(len(digits)))
        dh = height * rng.uniform(0.85, 1.12)
        shear = float(np.clip(slant + rng.normal(0, 0.05), SHEAR[0] - 0.1, SHEAR[1] + 0.1))
        if rng.random() < pen_share:
            alpha = pen_digit(rng, digits.images[i], dh, (pen / height * 0.8, pen / height * 1.2),
                              shear, narrow)
        else:
            alpha, shear = digit_alpha(rng, digits.images[i], dh), 0.0
        ah, aw = alpha.shape
        top = int(baseline - ah + rng.normal(0, height * 0.05))
        gap = rng.uniform(*TOUCHING_GAP) if touching else rng.uniform(*GAP)
        if previous_edge is not None:
            x = place_beside(previous_edge, alpha, top, gap * height, x)
        if joined and previous_end is not None:  # cursive: a hairline from the last digit
            _ligature(rng, canvas, previous_end, _ink_end(alpha, top, int(x), first=True), pen, ink)
        window = _blend(canvas, alpha, ink + rng.normal(0, 4), top, int(x))
        if window is not None:
            ys, xs, a = window
            labels[ys, xs][a >= 0.5] = digits.labels[i]
        centres.extend(ink_centres(alpha >= 0.5, top, int(x), digits.labels[i]))
        previous_end = _ink_end(alpha, top, int(x), first=False)
        previous_edge = (top, int(x) + row_extent(alpha, right=True))
        # a box-wide step, should the next digit share no row with this one
        x, end = x + aw - abs(shear) * ah, max(end, int(x) + aw)
    return end, pen


def register_field(rng: np.random.Generator, digits: Digits, height: int, width: int,
                   digit_height: tuple[float, float] = (12.0, 48.0), whole: bool = False
                   ) -> tuple[np.ndarray, np.ndarray, list[Centre]]:
    """One field crop: grey uint8 image (dark ink on paper), class-id labels, digit centres.

    Digit heights are log-uniform in `digit_height`. Training crops cut digits at their
    edges as tiles do; `whole` keeps the number inside the crop (string-labelled sets).
    """
    canvas = _paper(rng, height, width)
    labels = np.full((height, width), BACKGROUND, np.uint8)
    centres: list[Centre] = []
    dh = math.exp(rng.uniform(math.log(digit_height[0]), math.log(digit_height[1])))
    print_ink = rng.uniform(10, 120)
    if rng.random() < 0.15:
        _guilloche(rng, canvas)
    if rng.random() < 0.5:  # ruled lines
        step = dh * rng.uniform(0.5, 1.6)
        offset = rng.uniform(0, step)
        ink, lw = rng.uniform(120, 215), 1
        for y in np.arange(offset, height, step):
            _rule(rng, canvas, False, y, ink, lw)
    for _ in range(int(rng.random() < 0.5) + int(rng.random() < 0.2)):
        _printed(rng, canvas, dh, print_ink)
    if rng.random() < 0.3:  # bleed-through: a faint mirrored number from the other side
        ghost = np.zeros_like(canvas)
        draw_number(rng, ghost, np.zeros_like(labels), digits, rng.uniform(0, width * 0.6),
                    rng.uniform(dh, height), dh, 255.0, int(rng.integers(1, 4)), [])
        ghost = cv2.GaussianBlur(ghost[:, ::-1], (0, 0), rng.uniform(0.5, 2.0))
        canvas -= ghost / 255.0 * rng.uniform(0.1, 0.35) * canvas
    if rng.random() < 0.1:
        _stamp(rng, canvas, dh)

    ink = rng.uniform(5, 110)
    if rng.random() < FAINT:  # pencil or faded ink: little contrast with the paper
        ink = float(np.median(canvas)) - rng.uniform(30, 90)
    count = int(rng.choice([1, 2, 3, 4, 5], p=[0.3, 0.35, 0.2, 0.1, 0.05]))
    if whole:
        x = rng.uniform(0.05, 0.35) * width
        count = max(1, min(count, int((0.9 * width - x) / (0.9 * dh))))
        baseline = rng.uniform(min(1.2 * dh, 0.9 * height), 0.9 * height)
    else:
        x = rng.uniform(-0.2, 0.75) * width
        baseline = rng.uniform(0.35, 1.1) * height
    end, pen = draw_number(rng, canvas, labels, digits, x, baseline, dh, ink, count, centres)
    if whole and rng.random() < NEIGHBOURS:
        _cut_neighbour(rng, canvas, digits, dh, ink, pen)
    marks = []
    if rng.random() < 0.35:
        marks.append(("underline", x - dh * rng.uniform(-0.2, 0.5), baseline + dh * rng.uniform(-0.15, 0.25)))
    if rng.random() < 0.35:
        marks.append((str(rng.choice(["period", "comma", "dash"])), end + dh * rng.uniform(-0.1, 0.3),
                      baseline))
    for _ in range(int(rng.poisson(0.4))):
        marks.append((str(rng.choice(MARKS)), rng.uniform(0, width), rng.uniform(0, height + dh)))
    for kind, mx, my in marks:
        alpha = pen_mark(rng, kind, dh, pen)
        mark_y = my - alpha.shape[0] * (0.5 if kind == "underline" else 1.0)
        _blend(canvas, alpha, ink, int(mark_y), int(mx))  # digit pixels under it stay digits
    for _ in range(int(rng.random() < WORDS) + int(rng.random() < WORDS / 2)):
        _word(rng, canvas, (x, baseline - dh, end, baseline), dh, ink, pen)
    if rng.random() < 0.55:  # column borders, often close to the digits
        for _ in range(int(rng.integers(1, 3))):
            near = centres and rng.random() < 0.5
            at = (rng.choice([min(c[1] for c in centres) - dh * rng.uniform(0.5, 1.5),
                              max(c[1] for c in centres) + dh * rng.uniform(0.5, 1.5)])
                  if near else rng.uniform(0, width))
            lw = int(rng.integers(1, 4))
            line_ink = rng.uniform(10, 150)
            _rule(rng, canvas, True, at, line_ink, lw)
            if rng.random() < 0.3:
                _rule(rng, canvas, True, at + lw + rng.integers(2, 5), line_ink, lw)
    if rng.random() < 0.4:  # what the margin hides is no longer a digit
        covered = canvas.copy()
        cover = _scanner_margin(rng, covered)
        if not whole or not (cover[labels != BACKGROUND] > 0.05).any():
            canvas, hidden = covered, cover > 0.5
            labels[hidden] = BACKGROUND
            centres = [c for c in centres if not hidden[int(np.clip(c[0], 0, height - 1)),
                                                        int(np.clip(c[1], 0, width - 1))]]
    image = _degrade(rng, canvas)
    return image, labels, centres


def _degrade(rng: np.random.Generator, canvas: np.ndarray) -> np.ndarray:
    if rng.random() < 0.6:
        canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.3, 1.0))
    canvas = canvas + rng.normal(0, rng.uniform(0.5, 6), canvas.shape).astype(np.float32)
    image = np.clip(canvas, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        image = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return image
