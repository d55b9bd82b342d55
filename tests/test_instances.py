"""One region per digit: the centre and size outputs through a real onnxruntime session
(the rule model of conftest with centre outputs) and the real runner."""

import subprocess
import sys

import cv2
import numpy as np
import pytest

from fcn8_ocr import Segmenter
from fcn8_ocr.config import Options
from fcn8_ocr.contract import CentreRule
from fcn8_ocr.infer import OnnxModel
from fcn8_ocr.pipeline import segment_pages
from fcn8_ocr.read import Page
from fcn8_ocr.regions import extract_instances, find_centres

BG = 10


def regions_of(model, page: np.ndarray, keep_cut: bool = False, options: Options | None = None):
    segmenter = OnnxModel(model)
    assert segmenter.info.instances
    result = segment_pages([Page("test.png", "p", 1, page)], segmenter, segmenter.info,
                           options or Options(digit_height=24.0, keep_cut=keep_cut))[0]
    return result.regions


def crops_written(tmp_path, page: np.ndarray, model, flags: list[str]) -> int:
    """Crops `fcn8-ocr segment` writes for `page` with `flags` (digit height 24)."""
    out = tmp_path / ("out" + "".join(flags))
    cv2.imwrite(str(tmp_path / "crop.png"), page)
    done = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "crop.png"),
                           "--out", str(out), "--model", str(model), "--digit-height", "24",
                           "--quiet", *flags], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return len(list((out / "crops").rglob("*.png")))


def paper(h: int = 120, w: int = 200) -> np.ndarray:
    return np.full((h, w), 235, np.uint8)


def blob(page: np.ndarray, cx: int, cy: int = 60, half_width: int = 7) -> None:
    """A solid digit-sized mark, 24 px tall (the model's digit height)."""
    cv2.ellipse(page, (cx, cy), (half_width, 12), 0, 0, 360, 20, -1)


def test_two_touching_digits_of_one_class_give_two_regions(centre_model):
    page = paper()
    blob(page, 80, half_width=9)
    blob(page, 98, half_width=9)  # the two marks touch: one connected component
    n, _ = cv2.connectedComponents((page < 128).astype(np.uint8))
    assert n - 1 == 1
    regions = regions_of(centre_model, page)
    assert [r.digit for r in regions] == [3, 3]
    centres = sorted(r.box[0] + r.box[2] / 2 for r in regions)
    assert abs(centres[0] - 80) <= 3 and abs(centres[1] - 98) <= 3  # split where they touch


def test_a_broken_digit_gives_one_region(centre_model):
    page = paper()
    blob(page, 100)
    page[58:61, :] = 235  # a break across the stroke: two components
    n, _ = cv2.connectedComponents((page < 128).astype(np.uint8))
    assert n - 1 == 2
    (region,) = regions_of(centre_model, page)
    assert region.box[3] >= 22  # both fragments


def test_a_long_vertical_line_gives_no_region(centre_model, rule_model):
    page = paper(200, 200)
    cv2.line(page, (100, 10), (100, 190), 20, 2)  # a column border
    assert regions_of(centre_model, page) == []
    # without centre outputs the same line is a region of its own (today's components)
    segmenter = OnnxModel(rule_model)
    result = segment_pages([Page("t", "p", 1, page)], segmenter, segmenter.info,
                           Options(digit_height=24.0))[0]
    assert len(result.regions) == 1


def test_a_digit_cut_by_the_page_edge_is_dropped(centre_model):
    """A field crop that cuts through the next column's number: only its own digit counts."""
    page = page_with_cut = paper()
    blob(page, 80)
    blob(page, 192)  # the next column's digit: the right edge cuts its last stroke
    (whole,) = regions_of(centre_model, page)
    assert abs(whole.box[0] + whole.box[2] / 2 - 80) <= 3 and (whole.line, whole.position) == (1, 1)
    assert len(regions_of(centre_model, page, keep_cut=True)) == 2  # --keep-cut-digits
    segmenter = OnnxModel(centre_model)
    (result,) = segment_pages([Page("t", "p", 1, page)], segmenter, segmenter.info,
                              Options(digit_height=24.0), want_mask=True)
    assert (result.mask[50:70, 195:] == 3).any()  # the mask still shows its ink
    [api] = Segmenter(centre_model, provider="cpu", digit_height=24.0)(page_with_cut)
    assert np.array_equal(api.mask(), result.mask)  # the Python API's mask is the same map
    page = paper()
    blob(page, 80, cy=40)
    blob(page, 120, cy=110)  # the row below, cut by the bottom edge
    assert len(regions_of(centre_model, page)) == 1
    assert len(regions_of(centre_model, page, keep_cut=True)) == 2


def test_a_page_whose_ink_guess_is_4x_off_is_still_read(centre_model):
    """A stamp ring four digits tall sets the ink estimate; at that scale, and at half
    and twice it, the model sees no digit; a quarter of it finds the one real digit."""
    from fcn8_ocr.normalise import estimate_digit_height

    page = paper(320, 260)
    cv2.circle(page, (130, 150), 50, 20, 3)  # the stamp
    blob(page, 130, cy=150)  # the digit, 24 px tall, inside the ring
    assert estimate_digit_height(page) >= 4 * 0.8 * 24
    segmenter = OnnxModel(centre_model)
    (result,) = segment_pages([Page("t", "p", 1, page)], segmenter, segmenter.info, Options())
    (region,) = result.regions
    assert abs(region.box[1] + region.box[3] / 2 - 150) <= 3 and 20 <= region.box[3] <= 28


def test_a_large_page_without_digits_is_not_inferred_at_16x(centre_model):
    """The no-digit fallbacks stop at 4x the first pass's pixels on a page this large."""
    page = paper(1600, 1200)
    page[40::48] = 60  # ruled lines only
    segmenter = OnnxModel(centre_model)
    inferred = []

    def counting(batch, release_memory=False):
        inferred.append(batch.shape[0] * batch.shape[1] * batch.shape[2])
        return segmenter(batch, release_memory=release_memory)

    (result,) = segment_pages([Page("t", "p", 1, page)], counting, segmenter.info, Options())
    assert result.regions == []
    assert sum(inferred) <= 10 * page.size  # 1 + 4 + 1/4 + 1/16 passes, tile margins


def test_nearest_centre_splits_pixels_and_votes_the_class():
    labels = np.full((60, 80), BG, np.uint8)
    labels[10:34, 10:24] = 4
    labels[10:34, 24:38] = 4
    labels[12:14, 30:32] = 7  # a few confused pixels in the right digit
    heat = np.zeros(labels.shape, np.float32)
    heat[22, 16] = heat[22, 31] = 0.9
    sizes = np.full(labels.shape, 24.0, np.float32)
    scores = np.ones(labels.shape, np.float32)
    left, right = extract_instances(labels, scores, find_centres(heat, sizes, 24.0), BG)
    assert (left.digit, right.digit) == (4, 4)
    assert left.box == (10, 10, 14, 24) and right.box == (24, 10, 14, 24)
    assert right.confidence < left.confidence  # the vote share lowers it


@pytest.mark.parametrize("threshold, expected", [(0.3, 2), (0.6, 1)])
def test_centres_below_the_threshold_are_no_digits(threshold, expected):
    heat = np.zeros((40, 80), np.float32)
    heat[20, 20], heat[20, 60] = 0.9, 0.4
    rule = CentreRule(threshold=threshold)
    assert len(find_centres(heat, np.full_like(heat, 24.0), 24.0, rule)) == expected


def test_the_top_and_bottom_of_a_slanted_digit_are_one_centre():
    """Peaks offset along a right-leaning hand (the top to the right) are one digit; the
    same offset leaning the other way, or side by side, are two."""
    sizes = np.full((80, 80), 24.0, np.float32)
    for (top_x, bottom_x), expected in (((46, 34), 1), ((34, 46), 2)):
        heat = np.zeros((80, 80), np.float32)
        heat[30, top_x], heat[40, bottom_x] = 0.9, 0.8
        assert len(find_centres(heat, sizes, 24.0)) == expected
    heat = np.zeros((80, 80), np.float32)
    heat[40, 30], heat[40, 46] = 0.9, 0.8
    assert len(find_centres(heat, sizes, 24.0)) == 2


def test_the_centre_rule_comes_from_the_model(tmp_path):
    """Threshold and same-digit reach are the model's (metadata `centres`); a caller's
    threshold overrides the model's."""
    from conftest import threshold_model

    page = paper()
    blob(page, 80, half_width=9)
    blob(page, 98, half_width=9)
    assert len(regions_of(threshold_model(tmp_path / "a.onnx", centres=True), page)) == 2
    wide = threshold_model(tmp_path / "b.onnx", centres=True,
                           centre_rule=CentreRule(same_digit=(1.0, 1.0)))
    assert len(regions_of(wide, page)) == 1  # the peaks are 0.75 digit heights apart
    strict = threshold_model(tmp_path / "c.onnx", centres=True, centre_rule=CentreRule(threshold=0.9))
    assert regions_of(strict, page) == []  # the blobs' peaks are about 0.5
    segmenter = OnnxModel(strict)
    result = segment_pages([Page("t", "p", 1, page)], segmenter, segmenter.info,
                           Options(digit_height=24.0, centre_threshold=0.25))[0]
    assert len(result.regions) == 2


def test_one_line_keeps_the_crops_heaviest_line_not_its_first(tmp_path, centre_model):
    """A field crop (--one-line): the marks of the row above are dropped, even though they
    come first in reading order; without the option every line is read."""
    page = paper(170, 200)
    blob(page, 100, cy=35)  # the row above: one mark
    blob(page, 80, cy=110)  # the crop's own number: two digits
    blob(page, 100, cy=110)
    everything = regions_of(centre_model, page)
    assert [r.line for r in everything] == [1, 2, 2]
    segmenter = OnnxModel(centre_model)
    (result,) = segment_pages([Page("t", "p", 1, page)], segmenter, segmenter.info,
                              Options(digit_height=24.0, one_line=True))
    assert [(r.line, r.position) for r in result.regions] == [(1, 1), (1, 2)]
    assert all(abs(r.box[1] + r.box[3] / 2 - 110) <= 3 for r in result.regions)
    assert [line["text"] for line in result.lines] == ["33"]
    # the CLI's flag reaches the runner: one crop per digit of the main line only
    assert [crops_written(tmp_path, page, centre_model, flags) for flags in ([], ["--one-line"])] == [3, 2]


def test_centres_found_tile_by_tile_match_the_whole_page(centre_model):
    """The centre and size maps are read per tile (never stitched): peaks in each tile's
    core, with its margin as context, then merged across tiles, give the same regions as
    one window over the whole page, seams and the padded bottom-right edge included."""
    rng = np.random.default_rng(4)
    page = paper(250, 330)
    for cy in (20, 75, 130, 185, 232):
        for cx in range(14, 320, int(rng.integers(26, 40))):
            blob(page, cx, cy, int(rng.integers(4, 9)))
    whole = regions_of(centre_model, page, options=Options(digit_height=24.0, keep_cut=True))
    tiled = regions_of(centre_model, page, options=Options(digit_height=24.0, keep_cut=True,
                                                           tile=96, margin=32, whole_below=0))
    assert len(whole) > 40
    assert [(r.digit, r.box, r.confidence) for r in tiled] == \
        [(r.digit, r.box, r.confidence) for r in whole]


@pytest.mark.parametrize("left, right, expected", [(4, 7, 2), (7, 7, 1)])
def test_close_peaks_of_two_classes_are_two_digits(left, right, expected):
    """Two peaks 0.45 digit heights apart over digit pixels of two classes (a narrow "47"
    written close) are two digits; over one class, one digit seen twice."""
    heat = np.zeros((60, 80), np.float32)
    heat[30, 30], heat[30, 41] = 0.9, 0.8
    labels = np.full(heat.shape, BG, np.uint8)
    labels[18:42, 26:34], labels[18:42, 38:46] = left, right
    centres = find_centres(heat, np.full_like(heat, 24.0), 24.0, labels=labels, background=BG)
    assert sorted(c.digit for c in centres) == sorted({left, right} if expected == 2 else {left})
    tied = find_centres(heat, np.full_like(heat, 24.0), 24.0, labels=labels, background=BG,
                        rule=CentreRule(other_class=(0.55, 0.25)))
    assert len(tied) == 1  # the rule's limit, not chance, splits them


def test_a_slanted_digit_whose_head_and_tail_read_two_classes_is_one_digit():
    """Peaks one above the other (the head and tail of a steeply slanted digit, their pixels
    read as two classes) are one digit: the two-class limit is for digits side by side."""
    heat = np.zeros((60, 80), np.float32)
    heat[22, 38], heat[38, 30] = 0.9, 0.8  # 16 px down, 8 px across, digits 24 px tall
    labels = np.full(heat.shape, BG, np.uint8)
    labels[12:30, 32:46], labels[30:48, 24:36] = 9, 7
    centres = find_centres(heat, np.full_like(heat, 24.0), 24.0, labels=labels, background=BG)
    assert [c.digit for c in centres] == [9]
    split = find_centres(heat, np.full_like(heat, 24.0), 24.0, labels=labels, background=BG,
                         rule=CentreRule(other_class=(0.2, 1.0)))
    assert len(split) == 2  # counted as side by side, they would be two


@pytest.mark.parametrize("digit, expected", [(1, 2), (4, 1)])
def test_two_ones_side_by_side_are_two_digits_where_wider_peaks_would_be_one(digit, expected):
    """Two peaks 0.45 digit heights apart: beside a 1 (a narrow class of the rule) they are
    two digits ("11" written close); for any other class one digit seen twice."""
    heat = np.zeros((60, 80), np.float32)
    heat[30, 30], heat[30, 41] = 0.9, 0.8  # 11 px apart, digits 24 px tall
    labels = np.full(heat.shape, BG, np.uint8)
    labels[18:42, 27:33] = labels[18:42, 38:44] = digit
    centres = find_centres(heat, np.full_like(heat, 24.0), 24.0, labels=labels, background=BG)
    assert len(centres) == expected
    assert {c.digit for c in centres} == {digit}


def test_readings_at_other_scales_vote_a_regions_class():
    """The main reading says 3 on 60 % of the digit's pixels; two readings at other scales
    say 5 throughout: the region is a 5, its pixels and box still the main reading's."""
    labels = np.full((40, 40), BG, np.uint8)
    labels[8:32, 12:26] = 3
    labels[8:18, 12:26] = 5
    heat = np.zeros(labels.shape, np.float32)
    heat[20, 19] = 0.9
    sizes = np.full(labels.shape, 24.0, np.float32)
    scores = np.ones(labels.shape, np.float32)
    centres = find_centres(heat, sizes, 24.0)
    (alone,) = extract_instances(labels, scores, centres, BG)
    others = np.where(labels == BG, BG, 5).astype(np.uint8)
    (voted,) = extract_instances(labels, scores, centres, BG, more_labels=[others, others])
    assert (alone.digit, voted.digit) == (3, 5)
    assert voted.box == alone.box and (voted.mask == alone.mask).all()
    # the class's share of the pixels averaged over the three readings (scores are 1)
    assert voted.confidence == pytest.approx((10 / 24 + 1 + 1) / 3, abs=1e-4)


@pytest.mark.parametrize("size, digits, below, passes", [
    ((120, 200), True, Options().multi_scale_below, 7),  # a field crop: 5 scales, 2 slants
    ((120, 200), True, 0, 1),                            # asked for one scale
    ((120, 200), False, Options().multi_scale_below, 1),  # no digit found: nothing to vote
    ((800, 800), True, 100_000, 1),                      # a page above the limit: one reading
])
def test_small_images_are_read_at_five_scales_and_two_slants(centre_model, size, digits, passes, below):
    page = paper(*size)
    if digits:
        blob(page, 60)
        blob(page, 100)
    else:
        page[60:63, 20:180] = 30  # an underline: ink to read, no digit
    segmenter = OnnxModel(centre_model)
    shapes = []

    def counting(batch, release_memory=False):
        shapes.append(batch.shape[1:3])
        return segmenter(batch, release_memory=release_memory)

    options = Options(digit_height=24.0, multi_scale_below=below)
    (result,) = segment_pages([Page("t", "p", 1, page)], counting, segmenter.info, options)
    assert len(shapes) == passes and len(set(shapes)) == passes  # each at its own scale
    assert len(result.regions) == (2 if digits else 0)


def test_a_line_far_shorter_than_the_number_is_dropped_on_small_images(tmp_path, centre_model):
    """A field crop: a printed number half as tall as the handwritten one above it is not
    read by default (`min_line_height`); with 0, or on a page too large for the multi-scale
    reading, every line is."""
    page = paper(170, 200)
    blob(page, 80, cy=40)  # the handwritten number: two digits, 24 px
    blob(page, 100, cy=40)
    for cx in (70, 86, 102):  # the printed number below: 13 px
        cv2.ellipse(page, (cx, 120), (4, 6), 0, 0, 360, 20, -1)
    heights = sorted(r.box[3] for r in regions_of(centre_model, page, options=Options(
        digit_height=24.0, min_line_height=0.0)))
    assert len(heights) == 5 and heights[2] < 0.6 * heights[-1]
    default = regions_of(centre_model, page, options=Options(digit_height=24.0))
    assert [(r.line, r.position) for r in default] == [(1, 1), (1, 2)]
    large = regions_of(centre_model, page, options=Options(digit_height=24.0, multi_scale_below=0))
    assert len(large) == 5
    flags = ([], ["--min-line-height", "0"])
    assert [crops_written(tmp_path, page, centre_model, f) for f in flags] == [2, 5]


def test_a_small_image_of_many_lines_is_a_form_whose_short_lines_stay(centre_model):
    """An image small enough for the multi-scale reading but holding more rows of digits
    than a field crop (CROP_MAX_ROWS) is a form, read once as a page: its line of
    smaller digits is read."""
    from fcn8_ocr.pipeline import CROP_MAX_ROWS

    rows = 6
    assert rows > CROP_MAX_ROWS
    page = paper(40 * rows + 60, 200)
    for row in range(rows):  # handwritten numbers: two digits each, 24 px
        blob(page, 80, cy=30 + 40 * row)
        blob(page, 100, cy=30 + 40 * row)
    for cx in (70, 86, 102):  # the printed number below them: 13 px
        cv2.ellipse(page, (cx, 30 + 40 * rows), (4, 6), 0, 0, 360, 20, -1)
    every = regions_of(centre_model, page, options=Options(digit_height=24.0, min_line_height=0.0))
    assert len({r.line for r in every}) == rows + 1 and len(every) == 2 * rows + 3
    segmenter, calls = OnnxModel(centre_model), []

    def counting(batch, release_memory=False):
        calls.append(batch.shape)
        return segmenter(batch, release_memory=release_memory)

    (default,) = segment_pages([Page("t", "p", 1, page)], counting, segmenter.info,
                               Options(digit_height=24.0))
    assert [r.box for r in default.regions] == [r.box for r in every]
    assert len(calls) == 1  # read once, as a page: not voted over seven readings


def _regions_one_by_one(labels, scores, owner, centres, min_area_ratio, more_labels):
    """What each region should be, worked out one centre at a time (the oracle for the
    counts `extract_instances` takes for all centres at once)."""
    found = []
    for k, c in enumerate(centres):
        mine = owner == k
        area = int(mine.sum())
        if area == 0 or area < min_area_ratio * c.size**2:
            continue
        ys, xs = np.nonzero(mine)
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        shares = np.bincount(labels[mine], minlength=BG + 1)[:BG] / area
        for other in more_labels:
            shares = shares + np.bincount(other[mine], minlength=256)[:BG] / area
        cls = int(np.argmax(shares))
        voters = scores[mine][labels[mine] == cls]
        mean = float(voters.mean()) if voters.size else 0.0
        conf = mean * min(1.0, shares[cls] / (1 + len(more_labels))) * min(1.0, c.heat / 0.5)
        found.append((cls, round(conf, 4), (int(xs.min()), int(ys.min()),
                                            int(xs.max() - xs.min() + 1),
                                            int(ys.max() - ys.min() + 1)), mine[box]))
    return found


def test_instance_votes_match_counting_one_region_at_a_time():
    """Random class maps, centres and other readings: every region's class, confidence,
    box and mask are what counting its own pixels alone gives (centres owning too few
    pixels or none are dropped; other readings' background and ignore values do not vote)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fcn8_ocr.regions import Centre

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(0, 2**31 - 1), st.integers(0, 12), st.integers(0, 2),
           st.sampled_from([0.0, 0.04, 0.3]))
    def check(seed, count, readings, min_area_ratio):
        rng = np.random.default_rng(seed)
        labels = np.where(rng.random((60, 80)) < 0.4, rng.integers(0, BG, (60, 80)), BG)
        labels = labels.astype(np.uint8)
        scores = rng.random((60, 80)).astype(np.float32)
        centres = [Centre(int(rng.integers(0, 60)), int(rng.integers(0, 80)),
                          float(rng.uniform(4, 30)), float(rng.uniform(0.1, 1.0)),
                          int(rng.integers(-1, BG))) for _ in range(count)]
        more = [rng.choice(np.array([0, 3, 7, BG, 255], np.uint8), (60, 80))
                for _ in range(readings)]
        regions = extract_instances(labels, scores, centres, BG, min_area_ratio,
                                    more_labels=more)
        got = sorted((r.digit, r.confidence, r.box, r.mask.tobytes()) for r in regions)
        want = sorted((d, c, b, m.tobytes()) for d, c, b, m in _regions_one_by_one(
            labels, scores, _owners(labels, centres), centres, min_area_ratio, more))
        assert got == want

    check()


def _owners(labels, centres):
    """Each digit pixel's nearest centre within reach (the rule `extract_instances` states;
    distances kept as float32, as it keeps them)."""
    from fcn8_ocr.contract import DEFAULT_CENTRE_RULE

    reach = DEFAULT_CENTRE_RULE.reach
    ys, xs = np.mgrid[: labels.shape[0], : labels.shape[1]]
    best = np.full(labels.shape, np.inf, np.float32)
    owner = np.full(labels.shape, -1)
    for k, c in enumerate(centres):
        dist = np.hypot((xs - c.x) / (reach[0] * c.size), (ys - c.y) / (reach[1] * c.size))
        closer = (dist <= 1.0) & (dist < best) & (labels != BG)
        best[closer], owner[closer] = dist[closer], k
    return owner
