"""Handwriting as a pen draws it: MNIST digits thinned to their skeleton and re-stroked
with a random thin pen, slanted and elastically distorted; pen marks that are not digits
(periods, commas, dashes, underlines, slashes, brackets).

Every function returns an ink coverage map (float32, 0..1) at the requested size.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.morphology import skeletonize

from .letterforms import continental_digits
from .sources import Digits

OVERSAMPLE = 4  # strokes are drawn at this multiple of the target size, then area-averaged
# slant range, dx per dy; negative: the top leans right, as most hands write, down to the
# copperplate and Palmer hands of old registers, about 52 degrees from the line (-0.8)
SHEAR = (-0.8, 0.2)
PEN_LIFT = 0.25  # share of digits whose stroke has a gap or two
FORM_SHARE = 0.25  # drawn continental letterforms per form, as a share of a class's MNIST digits


def _elastic(rng: np.random.Generator, image: np.ndarray, strength: float) -> np.ndarray:
    """Smooth random displacement of `image` (strength in pixels of `image`)."""
    h, w = image.shape
    if strength <= 0:
        return image
    coarse = rng.normal(0, 1, (2, 4, 4)).astype(np.float32)
    dx = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC) * strength
    dy = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC) * strength
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=0)


def _stroke(rng: np.random.Generator, skeleton: np.ndarray, width: float) -> np.ndarray:
    """Binary stroke of about `width` pixels along `skeleton`, thicker where the pen presses."""
    radius = max(1, int(round(width / 2)))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    thin = cv2.dilate(skeleton, disc)
    if rng.random() < 0.6:  # pressure: a smooth random share of the stroke drawn wider
        wide_r = max(radius + 1, int(round(radius * rng.uniform(1.3, 2.0))))
        wide = cv2.dilate(skeleton, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * wide_r + 1,) * 2))
        h, w = skeleton.shape
        field = cv2.resize(rng.normal(0, 1, (3, 3)).astype(np.float32), (w, h),
                           interpolation=cv2.INTER_CUBIC)
        thin = np.where(field > rng.uniform(0.0, 1.0), wide, thin)
    return thin


def _coverage(rng: np.random.Generator, canvas: np.ndarray, strength: float) -> np.ndarray:
    """A stroke drawn at OVERSAMPLE x size (uint8) as ink coverage at the target size,
    elastically distorted by `strength` (oversampled pixels) first."""
    canvas = _elastic(rng, canvas.astype(np.float32) / 255.0, strength)
    size = (max(1, canvas.shape[1] // OVERSAMPLE), max(1, canvas.shape[0] // OVERSAMPLE))
    return cv2.resize(canvas, size, interpolation=cv2.INTER_AREA)


def pen_digit(rng: np.random.Generator, img28: np.ndarray, height: float,
              width_ratio: tuple[float, float] = (0.05, 0.13),
              shear: float | None = None, narrow: float = 1.0) -> np.ndarray:
    """Ink coverage of one MNIST digit re-drawn `height` px tall with a thin pen.

    The digit is slanted (by `shear`, dx per dy, negative leaning right; random if not
    given), rotated, stretched (its width also by the hand's `narrow` factor) and
    elastically distorted at 4x size, thinned to its skeleton and stroked with a pen
    `width_ratio` x height wide.
    """
    ys, xs = np.nonzero(img28 > 30)
    if len(ys) == 0:
        return np.zeros((max(1, int(height)), max(1, int(height // 2))), np.float32)
    crop = img28[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255.0
    h0, w0 = crop.shape
    big_h = height * OVERSAMPLE
    scale = big_h / h0
    sx, sy = scale * rng.uniform(0.75, 1.2) * narrow, scale
    if shear is None:
        shear = rng.uniform(*SHEAR)
    angle = math.radians(rng.uniform(-6, 6))
    c, s = math.cos(angle), math.sin(angle)
    lin = np.array([[c, -s], [s, c]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    pad = 3
    src = np.pad(crop, pad)
    sh, sw = src.shape
    out_h = int(math.ceil(abs(lin[1, 0]) * sw + abs(lin[1, 1]) * sh))
    out_w = int(math.ceil(abs(lin[0, 0]) * sw + abs(lin[0, 1]) * sh))
    matrix = np.hstack([lin, (np.array([out_w / 2, out_h / 2]) - lin @ np.array([sw / 2, sh / 2]))
                        [:, None]]).astype(np.float32)
    soft = cv2.warpAffine(src, matrix, (out_w, out_h), flags=cv2.INTER_CUBIC)
    soft = _elastic(rng, soft, rng.uniform(0, 0.06) * big_h)
    skeleton = skeletonize(soft > rng.uniform(0.3, 0.5)).astype(np.uint8)
    pen = rng.uniform(*width_ratio) * height * OVERSAMPLE
    if rng.random() < PEN_LIFT:  # the pen skips: a short gap in the stroke
        on = np.argwhere(skeleton)
        for y, x in on[rng.integers(len(on), size=int(rng.integers(1, 3)))]:
            cv2.circle(skeleton, (int(x), int(y)), int(max(pen, OVERSAMPLE) * rng.uniform(0.8, 1.6)),
                       0, -1)
    stroke = _stroke(rng, skeleton, max(pen, OVERSAMPLE * 0.9)).astype(np.float32)
    size = (max(1, int(round(out_w / OVERSAMPLE))), max(1, int(round(out_h / OVERSAMPLE))))
    return cv2.resize(stroke, size, interpolation=cv2.INTER_AREA)


def pen_mark(rng: np.random.Generator, kind: str, height: float, pen: float) -> np.ndarray:
    """Ink coverage of a non-digit pen mark for a digit string `height` px tall.

    kinds: "period", "comma", "dash", "slash", "bracket", "underline" (a long, slightly
    wavy stroke about 3 digits wide), "tick".
    """
    k = OVERSAMPLE
    big = int(height * k)
    width = max(1, int(round(pen * k)))
    if kind == "underline":
        length = int(big * rng.uniform(1.5, 4.0))
        canvas = np.zeros((big // 3 + 2 * width, length), np.uint8)
        xs = np.arange(0, length, max(1, length // 12))
        ys = canvas.shape[0] / 2 + rng.normal(0, big * 0.03, len(xs)).cumsum() * 0.5
        points = np.stack([xs, np.clip(ys, width, canvas.shape[0] - width)], 1).astype(np.int32)
        cv2.polylines(canvas, [points], False, 255, width, cv2.LINE_AA)
    elif kind in ("period", "comma"):
        canvas = np.zeros((big // 2, big // 3), np.uint8)
        r = max(width, int(big * rng.uniform(0.04, 0.08)))
        centre = (canvas.shape[1] // 2, canvas.shape[0] - 3 * r)
        cv2.circle(canvas, centre, r, 255, -1, cv2.LINE_AA)
        if kind == "comma":
            tail = (centre[0] - int(r * 1.5), centre[1] + int(r * 3))
            cv2.line(canvas, centre, tail, 255, width, cv2.LINE_AA)
    elif kind == "dash":
        length = int(big * rng.uniform(0.3, 0.6))
        canvas = np.zeros((big, length + 2 * width), np.uint8)
        y = int(big * rng.uniform(0.4, 0.7))
        cv2.line(canvas, (width, y), (length, y + int(rng.normal(0, big * 0.03))), 255, width,
                 cv2.LINE_AA)
    elif kind == "slash":
        canvas = np.zeros((big, big // 2), np.uint8)
        cv2.line(canvas, (big // 2 - width, width), (width, big - width), 255, width, cv2.LINE_AA)
    elif kind == "bracket":
        canvas = np.zeros((int(big * 1.1), big // 3), np.uint8)
        axes = (big // 4, int(big * 0.5))
        start = 110 if rng.random() < 0.5 else -70
        cv2.ellipse(canvas, (big // 3 if start > 0 else 0, canvas.shape[0] // 2), axes, 0,
                    start, start + 140, 255, width, cv2.LINE_AA)
    else:  # tick
        canvas = np.zeros((big // 2, big // 2), np.uint8)
        pts = np.array([[width, big // 4], [big // 6, big // 2 - width], [big // 2 - width, width]],
                       np.int32)
        cv2.polylines(canvas, [pts], False, 255, width, cv2.LINE_AA)
    return _coverage(rng, canvas, big * 0.02)


MARKS = ("period", "comma", "dash", "slash", "bracket", "underline", "tick")


def pen_word(rng: np.random.Generator, height: float, pen: float) -> np.ndarray:
    """Ink coverage of a short cursive word (2-7 joined letters) for digits `height` px tall.

    Letters are arches, cups and loops of one connected stroke (a cycloid-like curve whose
    loopiness, x-height and ascenders vary letter by letter), slanted as the hand is: the
    handwritten names and abbreviations around a register's numbers, which are no digits.
    """
    k = OVERSAMPLE
    x_height = height * k * rng.uniform(0.35, 0.6)
    letters = int(rng.integers(2, 8))
    points = []
    for n in range(letters):
        loop = rng.uniform(0.3, 1.6)  # > 1: a loop (e, l), < 1: an arch or cup (n, u)
        tall = rng.random() < 0.25  # an ascender (l, h, k) or descender (g, p)
        amp = x_height * (rng.uniform(1.6, 2.2) if tall else rng.uniform(0.8, 1.1)) / 2
        below = tall and rng.random() < 0.4
        t = np.linspace(0, 2 * math.pi, 24, endpoint=False)
        xs = (n * 2 * math.pi + t - loop * np.sin(t)) * x_height * rng.uniform(0.22, 0.32)
        ys = -np.cos(t + (math.pi if rng.random() < 0.5 else 0)) * amp
        ys = ys + (amp - x_height / 2 if below else x_height / 2 - amp)
        points.append(np.stack([xs, ys], 1))
    curve = np.concatenate(points)
    curve[:, 0] += rng.uniform(-0.5, 0.0) * (curve[:, 1] - curve[:, 1].min())  # the hand's slant
    width = max(1, int(round(pen * k)))
    curve -= curve.min(axis=0) - 2 * width
    w, h = (int(v + 2 * width + 1) for v in curve.max(axis=0))
    canvas = np.zeros((h, w), np.uint8)
    cv2.polylines(canvas, [curve.astype(np.int32)], False, 255, width, cv2.LINE_AA)
    return _coverage(rng, canvas, x_height * 0.08)


def european_forms(digits: Digits, seed: int = 0, share: float = 0.4,
                   form_share: float = FORM_SHARE) -> Digits:
    """`digits` plus continental forms MNIST's American writers rarely use: crossed copies
    of a `share` of its 7s (a short bar through the stem), and drawn letterforms
    (`letterforms.FORMS`: flat-topped 3, one-stroke 8 (half with no upper loop),
    straight-tailed 9, looped or Z-cornered 2, lead-in 1, narrow 0, closed or short-armed
    4, S-shaped 5), `form_share` x the mean class size of each.

    (Flagged 1s were tried too and dropped: a 1 with a flag drawn down-left from its top
    is an MNIST 7 without its bar, and a model trained on both read plain 7s as 1s.)
    """
    rng = np.random.default_rng([seed, 7])
    extra_images, extra_labels = [], []
    for i in np.nonzero(digits.labels == 7)[0]:
        if rng.random() >= share:
            continue
        image = digits.images[i].copy()
        ys, xs = np.nonzero(image > 100)
        if len(ys) < 10:
            continue
        top, bottom = ys.min(), ys.max()
        row = int(top + (bottom - top) * rng.uniform(0.45, 0.6))
        near = np.nonzero(image[max(row - 1, 0) : row + 2].max(axis=0) > 100)[0]
        if len(near) == 0:
            continue
        mid, half, tilt = float(near.mean()), rng.uniform(3.5, 6.0), rng.normal(0, 1.0)
        cv2.line(image, (int(mid - half), int(row + tilt)), (int(mid + half), int(row - tilt)),
                 255, int(rng.integers(2, 4)), cv2.LINE_AA)
        extra_images.append(image)
        extra_labels.append(digits.labels[i])
    forms = continental_digits(int(form_share * len(digits) / 10), seed)
    images = [digits.images, forms.images] + ([np.stack(extra_images)] if extra_images else [])
    labels = [digits.labels, forms.labels.astype(digits.labels.dtype),
              np.asarray(extra_labels, digits.labels.dtype)]
    return Digits(np.concatenate(images), np.concatenate(labels),
                  f"{digits.source}+{forms.source}+crossed7")


MIDDLES = (0.35, 0.65)  # where `reproportion` puts the middle of a digit's ink rows


def reproportion(patch: np.ndarray, middle: float) -> np.ndarray:
    """A 28x28 MNIST-format digit whose middle ink row is moved to `middle` of its ink
    rows' span, the upper and lower parts stretched or squeezed to fit (below 0.5: a
    smaller upper part, as a 9 with a small head over a long tail; above: a 2 with a
    large bowl over a short base), as hands differ in proportions."""
    ys = np.nonzero(patch.max(axis=1) > 30)[0]
    if len(ys) < 2:
        return patch
    top, span = float(ys[0]), float(ys[-1] - ys[0])
    rows = np.arange(patch.shape[0], dtype=np.float32)
    t = np.clip((rows - top) / span, 0.0, 1.0)
    s = np.where(t < middle, 0.5 * t / middle, 0.5 + 0.5 * (t - middle) / (1 - middle))
    inside = (rows >= top) & (rows <= top + span)
    source_rows = np.where(inside, top + span * s, rows).astype(np.float32)
    map_y = np.repeat(source_rows[:, None], patch.shape[1], axis=1)
    map_x = np.repeat(np.arange(patch.shape[1], dtype=np.float32)[None, :], patch.shape[0], axis=0)
    return cv2.remap(patch, map_x, map_y, cv2.INTER_LINEAR)


def reproportioned(digits: Digits, share: float, seed: int = 0) -> Digits:
    """`digits` with a `share` of them `reproportion`ed (middle uniform in MIDDLES); same
    count and classes."""
    if share <= 0:
        return digits
    rng = np.random.default_rng([seed, 11])
    images = digits.images.copy()
    for i in np.nonzero(rng.random(len(digits)) < share)[0]:
        images[i] = reproportion(images[i], float(rng.uniform(*MIDDLES)))
    return Digits(images, digits.labels, f"{digits.source}+reproportioned")
