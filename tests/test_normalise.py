import cv2
import numpy as np
from fcn8_ocr.train.synth import document_page

from fcn8_ocr.normalise import (
    back_from_upright,
    estimate_digit_height,
    ink_bright,
    is_dark_ink,
    normalise,
    page_ink,
    to_grey,
    upright,
)


def test_grey_from_every_layout():
    bgr = np.zeros((10, 12, 3), np.uint8)
    assert to_grey(bgr).shape == (10, 12)
    assert to_grey(np.zeros((10, 12, 4), np.uint8)).shape == (10, 12)
    sixteen = np.full((10, 12), 65535, np.uint16)
    assert to_grey(sixteen).dtype == np.uint8 and to_grey(sixteen).max() == 255


def test_polarity():
    paper = np.full((50, 50), 230, np.uint8)
    paper[20:30, 20:25] = 20
    assert is_dark_ink(paper)
    assert ink_bright(paper)[25, 22] == 235 and ink_bright(paper)[0, 0] == 25
    assert not is_dark_ink(255 - paper)


def test_digit_height_estimate_tracks_the_page(digits):
    for height in (45.0, 90.0):
        image, labels = document_page(np.random.default_rng(int(height)), digits, 1200, 900,
                                      (height, height * 1.01))
        estimate = estimate_digit_height(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        assert estimate is not None and 0.7 * height <= estimate <= 1.35 * height, (height, estimate)


def test_digit_height_is_measured_on_a_large_page():
    """On a 9000x12000 page, 45 px digits shrink to 4 px on a 1024 px copy: too small to
    judge, so the estimate must look again at a larger copy."""
    page = np.full((12000, 9000), 230, np.uint8)
    for y in range(2000, 10000, 400):
        for x in range(1000, 8000, 90):
            cv2.putText(page, str((x + y) % 10), (x, y), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 30, 6)
    sample = np.zeros((200, 200), np.uint8)
    cv2.putText(sample, "8", (50, 150), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 255, 6)
    rows = np.nonzero(sample.any(axis=1))[0]
    height = rows[-1] - rows[0] + 1  # the ink's own height
    estimate = estimate_digit_height(page)
    assert estimate is not None and 0.8 * height <= estimate <= 1.25 * height, (height, estimate)


def test_normalise_removes_paper_and_keeps_ink(digits):
    image, labels = document_page(np.random.default_rng(3), digits, 600, 500, (48, 50))
    norm = normalise(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), 24.0, digit_height=48.0)
    assert abs(norm.scale - 0.5) < 1e-6 and norm.image.shape == (300, 250)
    small = cv2.resize(labels, (250, 300), interpolation=cv2.INTER_NEAREST)
    assert np.median(norm.image[small == 10]) < 30  # paper is dark
    assert np.median(norm.image[small != 10]) > 100  # strokes are bright


def test_digits_cut_by_the_crop_edge_do_not_set_the_height():
    """A field crop: its own two digits, and bigger digits of the next rows and column
    that the crop's edges cut through. Only the whole digits are measured."""
    page = np.full((200, 140), 230, np.uint8)
    for x in (50, 75):
        cv2.putText(page, "4", (x, 110), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 30, 2)
    for x, y in ((110, 60), (115, 150), (10, 210), (60, 215)):  # cut by right and bottom edges
        cv2.putText(page, "8", (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.8, 30, 3)
    rows = np.nonzero((page[50:150, 40:100] < 128).any(axis=1))[0]
    height = rows[-1] - rows[0] + 1  # the whole digits' own height
    estimate = estimate_digit_height(page)
    assert estimate is not None and 0.8 * height <= estimate <= 1.25 * height, (height, estimate)


def test_small_print_and_specks_do_not_set_the_height():
    """A form field: one handwritten number among printed words, dots and specks; the
    estimate is the number's height, the largest plausible marks'."""
    page = np.full((220, 320), 230, np.uint8)
    cv2.putText(page, "52", (120, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.4, 30, 3)
    rows = np.nonzero((page < 128).any(axis=1))[0]
    height = rows[-1] - rows[0] + 1  # the number's own height
    for y in (30, 190):
        cv2.putText(page, "Folio No. 123", (20, y), cv2.FONT_HERSHEY_PLAIN, 1.0, 30, 1)
    rng = np.random.default_rng(0)
    for x, y in rng.integers(10, 210, (12, 2)):  # specks
        cv2.circle(page, (int(x) + 50, int(y)), 3, 30, -1)
    estimate = estimate_digit_height(page)
    assert estimate is not None and 0.8 * height <= estimate <= 1.25 * height, (height, estimate)


def _strokes(ink: int) -> np.ndarray:
    """Soft-edged bright strokes on black, their cores at `ink` (M2NIST's polarity)."""
    image = np.zeros((64, 84), np.float32)
    for x in (14, 42, 66):
        cv2.ellipse(image, (x, 32), (7, 18), 10, 0, 360, 1.0, 3, cv2.LINE_AA)
    soft = cv2.GaussianBlur(image, (0, 0), 0.9)
    return (soft / soft.max() * ink).astype(np.uint8)


def test_stroke_pixels_are_those_half_covered_whatever_the_inks_level():
    """--ink-level 115 is half of the page's own ink: 128 of 255 for ink too bright for the
    stretch to bring to 230 (M2NIST: its masks count pixels >= 128), as for ink it does."""
    window = (slice(0, 64), slice(0, 84))
    bright = _strokes(255)
    norm = normalise(bright, 24.0, 20.0)
    assert norm.gain == 1.0  # brighter than 230: the stretch leaves it
    mask = page_ink(bright, norm, window, 115)
    assert (bright[(bright >= 115) & (bright < 124)] > 0).any()
    assert not mask[(bright >= 115) & (bright < 124)].any()
    assert mask[bright >= 132].all()

    faint = _strokes(150)
    norm = normalise(faint, 24.0, 20.0)
    assert norm.gain > 1.2
    mask = page_ink(faint, norm, window, 115)
    assert not mask[faint < 70].any() and mask[faint >= 80].all()


def test_a_hand_leaning_right_is_read_upright_and_its_map_laid_back_in_place():
    """The slanted readings of the class vote: a stroke leaning right by 0.5 px per row
    stands up in `upright(image, 0.5)`, and a map read off that lands back on the stroke."""
    image = np.zeros((60, 80), np.uint8)
    rows = np.arange(10, 51)
    cols = np.round(40 - 0.5 * (rows - 30)).astype(int)  # top to the right
    image[rows, cols] = 255
    stood = upright(image, 0.5)
    assert stood.shape == (60, 80 + 2 * 15)  # widened by the lean of half its height
    ys, xs = np.nonzero(stood > 127)
    assert set(ys) == set(rows) and xs.max() - xs.min() <= 2  # was 20 columns wide: upright
    labels = np.where(stood > 127, 3, 10).astype(np.uint8)
    back = back_from_upright(labels, 0.5, image.shape, fill=10)
    assert back.shape == image.shape
    assert (back[rows, cols] == 3).mean() > 0.9
    near = cv2.dilate(image, np.ones((3, 3), np.uint8)) > 0
    assert not ((back == 3) & ~near).any()  # nowhere else
    assert (back_from_upright(labels, 0.5, image.shape, fill=10)[:, :2] == 10).all()
