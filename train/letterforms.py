"""Continental digit letterforms MNIST's writers rarely use, drawn as 28x28 MNIST-style images.

Each form is a few control points per stroke in a unit box (x right, y down), jittered per
sample, joined by a Catmull-Rom spline and drawn with an MNIST-thick pen; `pen.pen_digit`
then slants, distorts and re-strokes them like any MNIST digit. Which forms to draw was
prompted by the real sets' confusions; the forms themselves are how European school and
register hands (Scandinavian, German) write these digits, a few control points each, not
traced from any evaluation sample:

* flat-topped 3 (a bar, a diagonal, one lower bowl: the "z with a tail" 3);
* 8 written in one open stroke: over the top from the right, down through the middle,
  round the bottom, back up through the middle, past the start to the upper right; or with
  no upper loop at all (the Danish register 8): down from the top left through the middle,
  round the lower bowl, back up across the down-stroke into a long tail to the upper right;
* 9 with a small (sometimes unclosed) head and a long straight tail;
* 2 with a small loop where the diagonal meets the base, or a sharp "Z" corner;
* 1 with a long, steep up-stroke into its top (not a flat flag: that read plain 7s as 1s);
* 0 as a narrow upright oval, begun at the top and run a little past its start;
* 5 in one stroke, no stem: a flag drawn leftwards into an S-curve;
* 4 with a closed top (a diagonal from the stem's top down to a bar, as printed) or with a
  short left arm over a bar, beside a tall stem.
"""

from __future__ import annotations

import cv2
import numpy as np

from .sources import Digits

SIZE = 28
BOX = 20  # MNIST digits fit a 20 px box centred in 28 px
OVERSAMPLE = 4
JITTER = 0.035  # control-point noise, in units of the box
OPEN_EIGHTS = 0.5  # share of drawn 8s with no upper loop


def _catmull_rom(points: np.ndarray, samples: int = 12) -> np.ndarray:
    """A smooth curve through `points` (N x 2), `samples` points per segment."""
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1 : i + 3]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t**3))
    out.append(points[-1:])
    return np.vstack(out)


def _three(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    bar_y = rng.uniform(0.0, 0.08)
    left, right = rng.uniform(0.05, 0.25), rng.uniform(0.75, 0.95)
    waist = (rng.uniform(0.35, 0.5), rng.uniform(0.38, 0.48))
    return [[(left, bar_y), (right, bar_y - rng.uniform(0, 0.05)), (right, bar_y),  # the corner
             waist, (0.75, waist[1] + 0.1), (0.88, 0.7), (0.7, 0.93), (0.4, 0.98),
             (rng.uniform(0.08, 0.2), rng.uniform(0.8, 0.9))]]


def _eight(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    reach = rng.uniform(0.95, 1.1)  # how far up and right the last stroke runs past the start
    if rng.random() < OPEN_EIGHTS:  # no upper loop: an open "V" over the lower bowl
        start = (rng.uniform(0.2, 0.4), rng.uniform(0.0, 0.08))
        cross = (rng.uniform(0.45, 0.6), rng.uniform(0.3, 0.45))  # where the strokes cross
        hook = [(start[0] - 0.08, start[1] + 0.1)] if rng.random() < 0.4 else []
        return [hook + [start, ((start[0] + cross[0]) / 2, cross[1] / 2), cross, (0.78, 0.7),
                        (0.65, 0.95), (0.4, 0.98), (0.25, 0.82), (cross[0] - 0.12, cross[1] + 0.12),
                        (cross[0] + 0.08, cross[1] - 0.08), (0.8, 0.15), (reach, rng.uniform(-0.12, 0.0))]]
    top = rng.uniform(0.3, 0.42)  # upper loop's depth
    return [[(rng.uniform(0.45, 0.65), rng.uniform(0.02, 0.1)), (0.3, 0.0), (0.12, 0.14), (0.3, top),
             (0.58, 0.55), (0.8, 0.76), (0.62, 0.97), (0.3, 0.95), (0.2, 0.75), (0.48, 0.5),
             (0.78, 0.24), (reach, rng.uniform(-0.12, 0.0))]]


def _nine(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    head = rng.uniform(0.3, 0.45)  # head height
    right = rng.uniform(0.7, 0.85)
    opening = rng.uniform(0.0, 0.15)  # > 0: the head is left open at its top
    foot = rng.uniform(0.35, 0.65)
    stem = [(right, head * 0.2), (right - 0.02, head * 0.6), ((right + foot) / 2, 0.6), (foot, 1.0)]
    head_stroke = [(right, head * 0.2 + opening), (0.5, opening / 2), (0.15, head * 0.35),
                   (0.2, head * 0.9), (0.5, head), (right - 0.02, head * 0.6)]
    if rng.random() < 0.5:  # one stroke: round the head, then straight down
        return [head_stroke + stem[2:]]
    return [head_stroke, stem]


def _two(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    start = (rng.uniform(0.05, 0.2), rng.uniform(0.15, 0.3))
    arc = [start, (0.45, 0.0), (0.8, 0.12), (0.75, 0.4), (0.4, 0.7)]
    base_y = rng.uniform(0.9, 1.0)
    end = (rng.uniform(0.85, 1.0), base_y - rng.uniform(0.0, 0.1))
    if rng.random() < 0.6:  # a small loop where the diagonal meets the base
        r = rng.uniform(0.7, 1.3)  # loop size
        return [arc + [(0.12, base_y - 0.02), (0.12 - 0.07 * r, base_y - 0.12 * r),
                       (0.15, base_y - 0.2 * r), (0.3, base_y - 0.08 * r), (0.5, base_y), end]]
    return [arc[:3] + [(0.7, 0.35), (0.1, base_y), (0.1, base_y), end]]  # a sharp Z corner


def _one(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    top = (rng.uniform(0.55, 0.7), 0.0)
    lead = (top[0] - rng.uniform(0.2, 0.35), rng.uniform(0.3, 0.5))  # steep: a 7's bar is flat
    foot = (top[0] - rng.uniform(0.0, 0.15), 1.0)
    return [[lead, top, top, foot]]


def _zero(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    half = rng.uniform(0.15, 0.28)  # half the oval's width: MNIST's 0s are about twice as wide
    start = (0.5 + rng.uniform(-0.05, 0.1), rng.uniform(0.0, 0.06))
    overrun = (0.5 + half * rng.uniform(0.3, 0.9), rng.uniform(0.02, 0.15))
    return [[start, (0.5 - half, 0.2), (0.5 - half * 1.05, 0.55), (0.5 - half * 0.7, 0.9), (0.5, 1.0),
             (0.5 + half * 0.8, 0.85), (0.5 + half, 0.45), (0.5 + half * 0.7, 0.12), (0.45, 0.02),
             overrun]]


def _four(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    stem_x, bar_y = rng.uniform(0.55, 0.72), rng.uniform(0.55, 0.7)
    bar = [(rng.uniform(0.0, 0.12), bar_y), (stem_x + rng.uniform(0.1, 0.25), bar_y - rng.uniform(0.0, 0.06))]
    stem = [(stem_x, 0.0), (stem_x - rng.uniform(0.0, 0.1), 1.0)]
    if rng.random() < 0.5:  # closed: down from the stem's top to the bar's start
        return [[(stem_x, 0.0), ((stem_x + bar[0][0]) / 2, bar_y / 2)] + bar, stem]
    arm_top = bar_y - rng.uniform(0.3, 0.5)  # a short left arm straight down into the bar
    return [[(bar[0][0] + 0.12, arm_top), (bar[0][0] + 0.05, bar_y - 0.05)] + bar, stem]


def _five(rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    flag = (rng.uniform(0.8, 1.0), rng.uniform(0.0, 0.08))
    neck = (rng.uniform(0.2, 0.35), rng.uniform(0.05, 0.12))
    belly = rng.uniform(0.4, 0.55)  # where the stroke turns into the lower bowl
    return [[flag, neck, (neck[0] - 0.08, belly * 0.6), (0.35, belly), (0.75, belly + 0.1),
             (0.88, 0.75), (0.65, 0.97), (0.3, 0.98), (rng.uniform(0.0, 0.15), rng.uniform(0.78, 0.9))]]


FORMS = {3: _three, 8: _eight, 9: _nine, 2: _two, 1: _one, 0: _zero, 4: _four, 5: _five}


def draw_form(rng: np.random.Generator, label: int) -> np.ndarray:
    """One 28x28 uint8 MNIST-style image (white on black) of `label` in its continental form."""
    strokes = [np.asarray(s, np.float64) + rng.normal(0, JITTER, (len(s), 2)) for s in FORMS[label](rng)]
    curves = [_catmull_rom(s) for s in strokes]
    everything = np.vstack(curves)
    low, high = everything.min(axis=0), everything.max(axis=0)
    scale = BOX * OVERSAMPLE / max(high[1] - low[1], high[0] - low[0], 1e-6)
    big = SIZE * OVERSAMPLE
    offset = (big - (high - low) * scale) / 2
    canvas = np.zeros((big, big), np.uint8)
    thickness = int(rng.integers(7, 11))  # ~2-2.7 px at 28 px, as MNIST strokes are
    for curve in curves:
        pts = ((curve - low) * scale + offset) * 16  # 16 = 2**shift: sub-pixel points
        cv2.polylines(canvas, [pts.astype(np.int32)], False, 255, thickness, cv2.LINE_AA, shift=4)
    return cv2.resize(canvas, (SIZE, SIZE), interpolation=cv2.INTER_AREA)


def continental_digits(per_form: int, seed: int = 0) -> Digits:
    """`per_form` drawn images of every form in FORMS, labelled with their digit."""
    rng = np.random.default_rng([seed, 1868])
    labels = np.repeat(np.asarray(list(FORMS), np.uint8), per_form)
    images = np.stack([draw_form(rng, int(label)) for label in labels]) if per_form else \
        np.zeros((0, SIZE, SIZE), np.uint8)
    return Digits(images, labels, "continental-forms")
