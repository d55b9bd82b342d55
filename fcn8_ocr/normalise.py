"""Page normalisation shared by training and the runner.

grey -> ink-bright polarity -> (scale to the model's digit height) -> background removal.
The model sees ink bright on a black background (as MNIST), with paper texture,
uneven lighting and ink colour taken out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .classes import INK_LEVEL


def to_grey(image: np.ndarray) -> np.ndarray:
    """8-bit single-channel copy of a grey, BGR or BGRA image of 8 or 16 bits."""
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3:
        return np.ascontiguousarray(image[..., 0])
    return image


def is_dark_ink(grey: np.ndarray) -> bool:
    """True for dark ink on light paper: most pixels of a page are paper."""
    step = max(1, int(np.sqrt(grey.size / 65536)))
    return float(np.median(grey[::step, ::step])) >= 128


def ink_bright(grey: np.ndarray, dark_ink: bool | None = None) -> np.ndarray:
    """The page with ink bright and paper dark (the model's polarity)."""
    if dark_ink is None:
        dark_ink = is_dark_ink(grey)
    return cv2.bitwise_not(grey) if dark_ink else grey


def background(bright: np.ndarray, digit_height: float) -> np.ndarray:
    """Smooth estimate of the paper level: a morphological opening wider than any stroke."""
    k = max(3, int(round(digit_height * 0.6)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    return cv2.blur(cv2.morphologyEx(bright, cv2.MORPH_OPEN, kernel), (k, k))


TYPICAL_INK = 230.0  # the stretch brings a page's typical ink to this level


def typical_ink(residual: np.ndarray) -> float | None:
    """The page's typical ink level (90th percentile of its clearly inked pixels), or None
    when too few pixels are inked to tell."""
    step = max(1, int(np.sqrt(residual.size / 262144)))
    sample = residual[::step, ::step]
    strong = sample[sample > 40]
    return float(np.percentile(strong, 90)) if strong.size >= 16 else None


def ink_gain(residual: np.ndarray) -> float:
    """Contrast gain that brings the page's typical ink level to about 230 (1x-4x)."""
    return _gain(typical_ink(residual))


def _gain(level: float | None) -> float:
    return 1.0 if level is None else float(np.clip(TYPICAL_INK / max(level, 1.0), 1.0, 4.0))


def remove_background(bright: np.ndarray, digit_height: float) -> np.ndarray:
    """Ink-bright page minus its background, contrast stretched so ink is near 255."""
    residual = cv2.subtract(bright, background(bright, digit_height))
    return cv2.convertScaleAbs(residual, alpha=ink_gain(residual))


def ink_mask(flat: np.ndarray, level: int = INK_LEVEL) -> np.ndarray:
    """Stroke pixels of a background-removed page: at least `level` bright (bool).

    The default, half the stretched ink level, keeps pixels at least half covered by a
    stroke; 1 keeps every trace of ink (M2NIST's own masks count every non-zero pixel).
    """
    return flat >= level


def estimate_digit_height(grey: np.ndarray, dark_ink: bool | None = None, max_side: int = 1024
                          ) -> float | None:
    """Typical height in pixels of handwritten marks on a grey page, or None.

    Connected components of the ink on a reduced copy; shapes that cannot be digits
    (lines, specks, blocks) and marks cut by the page's edge are dropped; the 70th
    percentile of the area-weighted heights of the rest favours handwriting over small
    print and specks. A large page whose marks come out too small to
    judge at `max_side` is measured again on a 4x larger copy.
    """
    for side in (max_side, 4 * max_side):
        shrink = min(1.0, side / max(grey.shape))
        reduced = _typical_mark_height(grey, dark_ink, shrink)
        if shrink == 1.0 or (reduced is not None and reduced >= MIN_JUDGED_HEIGHT):
            break
    return None if reduced is None else reduced / shrink


MIN_JUDGED_HEIGHT = 12  # reduced-copy pixels below which a mark's height is too coarse
# the estimate is this quantile of the marks' area-weighted heights: digits are the largest
# plausible marks of most pages and crops, after specks, punctuation and small print
HEIGHT_QUANTILE = 0.7


def _typical_mark_height(grey: np.ndarray, dark_ink: bool | None, shrink: float) -> float | None:
    h, w = grey.shape
    small = grey if shrink == 1.0 else cv2.resize(grey, (int(w * shrink), int(h * shrink)),
                                                  interpolation=cv2.INTER_AREA)
    small = ink_bright(small, dark_ink)
    flat = remove_background(small, 40.0)
    mask = (flat >= 100).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    bx, by = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    bw, bh, area = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT], stats[1:, 4]
    plausible = (bh >= 6) & (bw <= 2.0 * bh) & (bh <= 0.5 * small.shape[0]) & (
        area >= 0.05 * bw * bh) & (area <= 0.8 * bw * bh)
    # marks cut by the page's edge (the scanner's margin, the next column's digits) are
    # not measured when whole ones are there
    inside = (bx > 0) & (by > 0) & (bx + bw < small.shape[1]) & (by + bh < small.shape[0])
    if (plausible & inside).any():
        plausible &= inside
    if plausible.sum() == 0:
        return None
    heights, weights = bh[plausible].astype(float), area[plausible].astype(float)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, cumulative[-1] * HEIGHT_QUANTILE)])


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    """Image resized by `scale` (area filter when shrinking)."""
    if abs(scale - 1.0) < 1e-3:
        return image
    h, w = image.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def shear_matrix(height: int, shear: float, pad: int = 0) -> np.ndarray:
    """The affine map that shears an image `height` rows tall about its middle row, `shear`
    px right per row down, and moves it `pad` px right."""
    return np.float32([[1, shear, pad - shear * height / 2], [0, 1, 0]])


def _upright_pad(height: int, shear: float) -> int:
    return int(np.ceil(abs(shear) * height / 2))


def upright(image: np.ndarray, shear: float) -> np.ndarray:
    """`image` sheared about its middle row, `shear` px right per row down (a digit leaning
    right by that much stands up), widened so that nothing is cut off."""
    h, w = image.shape[:2]
    pad = _upright_pad(h, shear)
    return cv2.warpAffine(image, shear_matrix(h, shear, pad), (w + 2 * pad, h),
                          flags=cv2.INTER_LINEAR)


def back_from_upright(values: np.ndarray, shear: float, shape: tuple[int, int], fill: int
                      ) -> np.ndarray:
    """A map read off `upright(image, shear)` laid back onto the pixels of `image` (of
    `shape`): each pixel takes the nearest value, `fill` where none."""
    matrix = shear_matrix(shape[0], shear, _upright_pad(shape[0], shear))
    return cv2.warpAffine(values, matrix, (shape[1], shape[0]),
                          flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=fill)


def model_input(grey: np.ndarray, model_digit_height: float, dark_ink: bool | None = None
                ) -> np.ndarray:
    """What the model sees of a grey image already at model scale: ink bright, no background."""
    return remove_background(ink_bright(grey, dark_ink), model_digit_height)


@dataclass
class Normalised:
    """A page as the model sees it, and what maps it back to the page."""

    image: np.ndarray        # model input: uint8, ink bright, background removed
    scale: float             # model pixels per page pixel
    digit_height: float      # the page's digit height in page pixels (given or estimated)
    dark_ink: bool
    background: np.ndarray   # paper level at model scale (ink-bright polarity)
    gain: float
    ink: float = TYPICAL_INK  # typical ink level after the gain: 230 unless the gain was
    # clipped (ink brighter than 230 is not darkened, faint ink not stretched past 4x)


def normalise(grey: np.ndarray, model_digit_height: float, digit_height: float | None = None
              ) -> Normalised:
    """Scale a grey page so its digits are `model_digit_height` tall and remove the paper."""
    dark_ink = is_dark_ink(grey)
    if digit_height is None:
        digit_height = estimate_digit_height(grey, dark_ink) or model_digit_height
    scale = model_digit_height / digit_height
    small = ink_bright(resize(grey, scale), dark_ink)  # invert after shrinking: less memory
    paper = background(small, model_digit_height)
    residual = cv2.subtract(small, paper)
    level = typical_ink(residual)
    gain = _gain(level)
    ink = TYPICAL_INK if level is None else level * gain
    return Normalised(cv2.convertScaleAbs(residual, alpha=gain), scale, float(digit_height),
                      dark_ink, paper, gain, ink)


def page_ink(grey_window: np.ndarray, norm: Normalised, window: tuple[slice, slice],
             level: int = INK_LEVEL) -> np.ndarray:
    """Stroke pixels (bool) of a window of the page at full page resolution.

    The paper level comes from the model-scale background, upsampled to the window.
    `level` is on the scale where the page's typical ink is 230 (115: at least half
    covered), also where the gain could not bring it there (ink brighter than 230, as in
    M2NIST's, counts from half of its own level).
    """
    bright = ink_bright(grey_window, norm.dark_ink)
    ys, xs = window
    h, w = bright.shape
    by0, by1 = int(ys.start * norm.scale), int(np.ceil(ys.stop * norm.scale))
    bx0, bx1 = int(xs.start * norm.scale), int(np.ceil(xs.stop * norm.scale))
    by1 = min(max(by1, by0 + 1), norm.background.shape[0])
    bx1 = min(max(bx1, bx0 + 1), norm.background.shape[1])
    paper = cv2.resize(norm.background[by0:by1, bx0:bx1], (w, h), interpolation=cv2.INTER_LINEAR)
    threshold = max(1, int(round(level * norm.ink / TYPICAL_INK)))
    return ink_mask(cv2.convertScaleAbs(cv2.subtract(bright, paper), alpha=norm.gain), threshold)
