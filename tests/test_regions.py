"""Region extraction and reading order on hand-made label maps."""

import numpy as np

from fcn8_ocr import regions
from fcn8_ocr.regions import (
    Centre,
    centre_rows,
    digit_strings,
    drop_short_lines,
    extract_regions,
    merge_peaks,
)

BG = 10


def blank(h=120, w=400):
    return np.full((h, w), BG, np.uint8), np.ones((h, w), np.float32)


def test_components_vote_and_small_specks_are_dropped():
    labels, scores = blank()
    labels[20:44, 10:24] = 7
    labels[30:34, 12:16] = 1  # a few confused pixels inside the 7
    labels[80:82, 80:82] = 3  # a speck
    (region,) = extract_regions(labels, scores, 24.0, BG)
    assert region.digit == 7 and region.box == (10, 20, 14, 24)
    assert 0.9 < region.confidence < 1.0  # the vote share lowers it


def test_touching_digits_of_different_classes_are_split():
    labels, scores = blank()
    labels[20:44, 10:24] = 4
    labels[20:44, 24:38] = 2  # touching on the right
    regions = extract_regions(labels, scores, 24.0, BG)
    assert [r.digit for r in regions] == [4, 2]
    assert [r.position for r in regions] == [1, 2]


def test_stray_pixels_of_a_split_component_go_to_the_nearest_digit():
    labels, scores = blank()
    labels[20:44, 10:34] = 4  # the larger digit
    labels[20:44, 34:46] = 2
    labels[30:33, 40:43] = 9  # a few confused pixels inside the 2
    four, two = extract_regions(labels, scores, 24.0, BG)
    assert (four.digit, two.digit) == (4, 2)
    assert four.box == (10, 20, 24, 24) and two.box == (34, 20, 12, 24)
    assert two.area == 24 * 12


def test_reading_order_and_strings_on_a_skewed_page():
    labels, scores = blank(200, 500)
    # line 1 drifts down 3 px per digit (skew); line 2 below it
    for k, digit in enumerate([1, 2, 3, 4, 5, 6]):
        x = 20 + k * 20 + (40 if k >= 3 else 0)  # a wide gap after three digits
        y = 20 + 3 * k
        labels[y : y + 24, x : x + 12] = digit
    for k, digit in enumerate([9, 8]):
        labels[120:144, 30 + k * 20 : 42 + k * 20] = digit
    regions = extract_regions(labels, scores, 24.0, BG)
    assert [(r.digit, r.line, r.position) for r in regions] == [
        (1, 1, 1), (2, 1, 2), (3, 1, 3), (4, 1, 4), (5, 1, 5), (6, 1, 6), (9, 2, 1), (8, 2, 2)]
    lines = digit_strings(regions)
    assert lines == [{"line": 1, "text": "123 456", "strings": ["123", "456"]},
                     {"line": 2, "text": "98", "strings": ["98"]}]


def test_lines_much_shorter_than_the_tallest_are_dropped():
    """A field crop: a printed number (12 px) above the handwritten one (24 px) and a
    slightly smaller handwritten line (20 px) below: only the printed line goes, and the
    lines left are numbered again in reading order."""
    labels, scores = blank(200, 300)
    for k, digit in enumerate([7, 4, 1]):
        labels[10:22, 20 + k * 10 : 27 + k * 10] = digit  # printed: half the height
    for k, digit in enumerate([2, 8]):
        labels[60:84, 40 + k * 20 : 52 + k * 20] = digit
    for k, digit in enumerate([5, 6]):
        labels[130:150, 40 + k * 20 : 50 + k * 20] = digit
    regions = extract_regions(labels, scores, 24.0, BG)
    assert [r.line for r in regions] == [1, 1, 1, 2, 2, 3, 3]
    kept = drop_short_lines(regions, 0.6)
    assert [(r.digit, r.line, r.position) for r in kept] == [(2, 1, 1), (8, 1, 2), (5, 2, 1), (6, 2, 2)]
    assert [r.digit for r in drop_short_lines(regions, 0.9)] == [2, 8]
    assert len(drop_short_lines(regions, 0.0)) == 7 and drop_short_lines([], 0.6) == []


def test_a_weaker_peak_on_the_same_digit_merges_and_a_neighbour_stays():
    peaks = [Centre(50, 100, 24.0, 0.6, 3), Centre(52, 104, 24.0, 0.9, 3),  # one digit, twice
             Centre(50, 118, 24.0, 0.7, 3)]  # 14 px = 0.58 heights to the right: the next digit
    assert [(c.x, c.heat) for c in merge_peaks(peaks)] == [(104, 0.9), (118, 0.7)]


def test_peaks_merge_the_same_when_tested_in_small_blocks(monkeypatch):
    rng = np.random.default_rng(3)
    peaks = [Centre(int(rng.integers(0, 300)), int(rng.integers(0, 500)), float(rng.uniform(12, 30)),
                    float(rng.uniform(0.25, 1.0)), int(rng.integers(-1, 10))) for _ in range(400)]
    whole = merge_peaks(peaks)
    assert 20 < len(whole) < 400  # some merged, some kept
    monkeypatch.setattr(regions, "MERGE_BLOCK", 7)
    assert merge_peaks(peaks) == whole


def test_centre_rows_counts_the_rows_digits_stand_in():
    """Centres a few pixels apart in height are one row (a wavy hand), a digit height
    apart two; no centre, no row."""
    row = [Centre(100 + dy, 30 * k, 24.0, 0.9) for k, dy in enumerate((0, 5, -4, 9, 2))]
    below = [Centre(150 + dy, 30 * k, 24.0, 0.9) for k, dy in enumerate((0, -3, 4))]
    assert centre_rows(row) == 1
    assert centre_rows(row + below) == 2 == centre_rows(below[::-1] + row)
    assert centre_rows([]) == 0
