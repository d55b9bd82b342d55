import cv2
import numpy as np
import pytest
from fcn8_ocr.train.sources import Digits
from fcn8_ocr.train.synth import document_page, m2nist_sample

from fcn8_ocr.classes import BACKGROUND


def test_document_page_is_deterministic_per_seed(digits):
    a = document_page(np.random.default_rng([5, 1]), digits, 300, 240, (20, 50))
    b = document_page(np.random.default_rng([5, 1]), digits, 300, 240, (20, 50))
    c = document_page(np.random.default_rng([5, 2]), digits, 300, 240, (20, 50))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_document_labels_sit_on_the_ink(digits):
    """Digit labels mark dark strokes on light paper; most paper is unlabelled."""
    for seed in range(4):
        image, labels = document_page(np.random.default_rng(seed), digits, 500, 400, (30, 80))
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(float)
        digit = labels != BACKGROUND
        assert digit.any(), "every page holds handwriting"
        assert set(np.unique(labels)) <= set(range(11))
        paper = float(np.median(grey[~digit]))
        ink = float(np.median(grey[digit]))
        assert paper - ink > 50, (paper, ink)
        # the labelled pixels are darker than the paper around them, pixel for pixel
        assert (grey[digit] < paper - 20).mean() > 0.9
        # and labels are only where strokes are: a small share of the page
        assert digit.mean() < 0.25


def test_m2nist_sample_shape_and_alignment(digits):
    image, labels = m2nist_sample(np.random.default_rng(0), digits)
    assert image.shape == labels.shape == (64, 84)
    assert (image[labels != BACKGROUND] >= 128).all()


def _solid_digits() -> Digits:
    """One 'digit': a fully inked 28x28 box of class 3, so labels show where boxes went."""
    return Digits(np.full((1, 28, 28), 255, np.uint8), np.array([3]), "solid")


def test_m2nist_places_digits_left_to_right_as_m2nist_does():
    """Box k starts 28k + 0..9 px from the left: the first two always cover columns 9-27
    and 37-55; a third fits only at column 56, about 1 image in 20."""
    covered = np.array([m2nist_sample(np.random.default_rng(s), _solid_digits())[1] != BACKGROUND
                        for s in range(400)]).any(axis=1)  # (images, columns) with a digit
    assert covered[:, 9:28].all() and covered[:, 37:56].all()
    third = covered[:, 66:].any(axis=1)
    assert 0.01 < third.mean() < 0.12 and covered[third, 56:].all()


def test_m2nist_overlap_puts_digits_anywhere(digits):
    covered = np.array([m2nist_sample(np.random.default_rng(s), _solid_digits(), overlap=True)[1]
                        != BACKGROUND for s in range(400)]).any(axis=1)
    assert not covered[:, 9:28].all() and covered.any(axis=0).all()
    counts = [len(np.unique(m2nist_sample(np.random.default_rng(s), digits, overlap=True)[1])) - 1
              for s in range(200)]
    assert min(counts) == 1 and max(counts) == 3


def test_synth_kinds_and_mask_level(tmp_path):
    """The CLI offers every kind; --mask-level 1 labels every non-zero pixel of the same
    images (M2NIST's own convention), the default only pixels at least half covered."""
    from fcn8_ocr.train.synthesize import KINDS, write_synthetic

    from fcn8_ocr.cli import synth

    assert tuple(next(p for p in synth.params if p.name == "kind").type.choices) == KINDS
    half = write_synthetic("m2nist", 6, tmp_path / "half", seed=2)
    every = write_synthetic("m2nist", 6, tmp_path / "every", seed=2, mask_level=1)
    images = np.load(half / "combined.npy")
    assert np.array_equal(images, np.load(every / "combined.npy"))
    half_digit = np.load(half / "segmented.npy")[..., BACKGROUND] == 0
    every_digit = np.load(every / "segmented.npy")[..., BACKGROUND] == 0
    assert np.array_equal(half_digit, images >= 128) and np.array_equal(every_digit, images > 0)


def test_training_tiles_of_every_kind_carry_digit_centres(digits):
    """Field crops, page tiles (rotated or not) and M2NIST compositions all report each
    digit's centre, height and class, and the centre targets peak at 1 on them."""
    from fcn8_ocr.train.tiles import centre_targets, synth_tile

    seen_kinds = 0
    for index in range(40):
        centres: list = []
        image, labels = synth_tile(0, index, digits, 128, 0.3, 0.4, centres)
        assert image.shape == labels.shape == (128, 128)
        for *_, height, digit in centres:
            assert 0 <= digit <= 9 and height > 3
        inside = [c for c in centres if 0 <= c[0] < 127.5 and 0 <= c[1] < 127.5]
        heat, size = centre_targets(centres, labels.shape)
        if inside:
            assert heat.max() == 1.0 and size[..., 1].sum() > 0
            seen_kinds += 1
    assert seen_kinds > 20


def test_european_forms_add_crossed_sevens(digits):
    from fcn8_ocr.train.pen import european_forms

    more = european_forms(digits, seed=3, share=0.5, form_share=0.0)
    n = len(digits)
    added = more.labels[n:]
    sevens = int((digits.labels == 7).sum())
    assert 0.3 * sevens < len(added) < 0.7 * sevens
    assert set(added.tolist()) == {7}
    assert np.array_equal(more.images[:n], digits.images)
    # every copy is its source digit with ink added, none taken away
    sources = digits.images[digits.labels == 7]
    for image in more.images[n : n + 20]:
        best = min(sources, key=lambda s: int(np.abs(image.astype(int) - s).sum()))
        assert (image >= best).all() and int(image.sum()) > int(best.sum()) + 255


def test_pen_lifts_leave_gaps_in_the_stroke(digits, monkeypatch):
    from fcn8_ocr.train import pen

    def ink(lift: float) -> float:
        monkeypatch.setattr(pen, "PEN_LIFT", lift)
        return sum(float(pen.pen_digit(np.random.default_rng(i), digits.images[i], 40.0).sum())
                   for i in range(20))

    assert ink(1.0) < 0.97 * ink(0.0)


def two_digits(digits, seed: int) -> tuple[np.ndarray, list]:
    """A two-digit number 40 px tall drawn by `fields.draw_number` (pen digits only): its
    class-id labels and its digit centres, left to right."""
    from fcn8_ocr.train import fields

    canvas = np.full((120, 300), 230.0, np.float32)
    labels = np.full(canvas.shape, BACKGROUND, np.uint8)
    centres: list = []
    fields.draw_number(np.random.default_rng(seed), canvas, labels, digits, 20.0, 90.0, 40.0,
                       30.0, 2, centres, pen_share=1.0)
    return labels, sorted(centres, key=lambda c: c[1])


def test_a_slanted_number_is_spaced_by_its_strokes_not_its_boxes(digits, monkeypatch):
    """Hand-written numbers lean as one; the space between two digits is measured between
    their strokes, so a steep slant does not push the digits apart (the box of a leaning
    digit is wider by its lean)."""
    from fcn8_ocr.train import fields

    def spacing(slant: float) -> float:
        monkeypatch.setattr(fields, "SHEAR", (slant, slant))
        steps = []
        for seed in range(40):
            labels, centres = two_digits(digits, seed)
            (_, x0, *_), (_, x1, *_) = centres
            steps.append((x1 - x0) / 40.0)
        return float(np.median(steps))

    assert spacing(-0.6) - spacing(0.0) < 0.12  # a 0.6 lean would add 0.6 digit heights


def test_touching_digits_touch_and_spaced_ones_do_not(digits, monkeypatch):
    """The space between two digits is measured between their strokes, row by row, not
    between the boxes around them (which hold a margin): a touching pair's strokes meet."""
    from fcn8_ocr.train import fields

    def stroke_gaps(touching: float) -> list[float]:
        monkeypatch.setattr(fields, "TOUCHING", touching)
        gaps = []
        for seed in range(40):
            labels, centres = two_digits(digits, seed)
            (_, _, _, first), (_, _, _, second) = centres
            if first == second:
                continue
            rows = (labels == first).any(1) & (labels == second).any(1)
            right = [np.nonzero(row == first)[0].max() for row in labels[rows]]
            left = [np.nonzero(row == second)[0].min() for row in labels[rows]]
            gaps.append(min(a - b for a, b in zip(left, right, strict=True)) / 40.0 if rows.any()
                        else 1.0)
        return gaps

    assert np.median(stroke_gaps(1.0)) <= 0.03
    assert np.median(stroke_gaps(0.0)) >= 0.1


def test_a_narrow_hand_writes_narrower_digits_closer_together(digits, monkeypatch):
    """Register hands write tall, narrow digits: a number by a narrow hand has its digit
    centres closer together and each digit's ink narrower than MNIST's round hand."""
    from fcn8_ocr.train import fields

    monkeypatch.setattr(fields, "SHEAR", (0.0, 0.0))
    monkeypatch.setattr(fields, "TOUCHING", 0.0)

    def widths(share: float) -> tuple[float, float]:
        monkeypatch.setattr(fields, "NARROW_HANDS", share)
        steps, inks = [], []
        for seed in range(30):
            labels, centres = two_digits(digits, seed)
            (_, x0, *_), (_, x1, *_) = centres
            steps.append((x1 - x0) / 40.0)
            xs = np.nonzero((labels != BACKGROUND).any(axis=0))[0]
            inks.append((xs.max() - xs.min()) / 40.0)
        return float(np.median(steps)), float(np.median(inks))

    (round_step, round_ink), (narrow_step, narrow_ink) = widths(0.0), widths(1.0)
    assert narrow_step < round_step - 0.1 and narrow_ink < round_ink - 0.2


def test_handwritten_words_are_one_stroke_beside_the_number():
    """Cursive words (background) are one connected pen stroke, wider than tall, and are
    written clear of the number's box."""
    from fcn8_ocr.train import fields
    from fcn8_ocr.train.pen import pen_word

    drawn = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        word = pen_word(rng, 30.0, 2.5) >= 0.3
        assert cv2.connectedComponents(word.astype(np.uint8))[0] - 1 == 1
        assert word.shape[1] > word.shape[0]
        canvas = np.full((200, 300), 230.0, np.float32)
        number = (100.0, 80.0, 180.0, 120.0)
        fields._word(rng, canvas, number, 30.0, 20.0, 2.5)
        assert (canvas[80:120, 100:180] == 230.0).all()
        drawn += int((canvas < 200).any())
    assert drawn >= 15  # most crops have room for it


def _ink(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.nonzero(image > 150)


def test_european_forms_add_drawn_letterforms_of_each_form(digits):
    from fcn8_ocr.train.letterforms import FORMS
    from fcn8_ocr.train.pen import european_forms

    more = european_forms(digits, seed=3, share=0.0, form_share=0.2)
    added_images, added = more.images[len(digits):], more.labels[len(digits):]
    per_form = int(0.2 * len(digits) / 10)
    assert sorted(np.unique(added).tolist()) == sorted(FORMS)
    assert all(int((added == label).sum()) == per_form for label in FORMS)
    for image in added_images:  # MNIST's layout: ink inside the central 20 px box
        ys, xs = _ink(image)
        assert image.dtype == np.uint8 and image.shape == (28, 28)
        assert 16 <= ys.max() - ys.min() + 1 <= 24 and ys.min() >= 1 and ys.max() <= 26


def test_drawn_threes_are_flat_topped_and_nines_end_in_one_straight_tail(digits):
    """The forms MNIST lacks: a 3 whose top is a bar across the digit (MNIST 3s start
    with an arc), a 9 whose foot is one narrow stroke."""
    from fcn8_ocr.train.letterforms import continental_digits

    def top_bar(image):  # share of the digit's width inked in its two top rows
        ys, xs = _ink(image)
        top = xs[ys <= ys.min() + 1]
        return (top.max() - top.min() + 1) / (xs.max() - xs.min() + 1)

    def foot(image):  # share of the digit's width inked in its four bottom rows
        ys, xs = _ink(image)
        low = xs[ys >= ys.max() - 3]
        return (low.max() - low.min() + 1) / (xs.max() - xs.min() + 1)

    drawn = continental_digits(60, seed=1)
    threes, nines = drawn.images[drawn.labels == 3], drawn.images[drawn.labels == 9]
    mnist_threes = digits.images[digits.labels == 3]
    flat = np.median([top_bar(i) for i in threes])
    assert flat >= 0.8 and flat > np.median([top_bar(i) for i in mnist_threes]) + 0.2
    assert np.mean([foot(i) < 0.4 for i in nines]) >= 0.95


def test_some_drawn_eights_have_no_upper_loop():
    """The register 8 is an open "V" over one bowl: its upper-left corner holds at most
    the start of the down-stroke, where the other drawn 8s run their upper loop."""
    from fcn8_ocr.train.letterforms import FORMS, OPEN_EIGHTS

    def upper_left_ink(strokes, size=200):  # stroke length in the top 40 %, left 25 %
        canvas = np.zeros((size + 40, size + 40), np.uint8)
        for stroke in strokes:
            cv2.polylines(canvas, [(np.asarray(stroke) * size + 20).astype(np.int32)], False, 255, 3)
        ys, xs = np.nonzero(canvas)
        height, width = ys.max() - ys.min(), xs.max() - xs.min()
        corner = canvas[ys.min() : ys.min() + int(0.4 * height), xs.min() : xs.min() + int(0.25 * width)]
        return (corner > 0).sum() / 3 / height

    rng = np.random.default_rng(4)
    corners = np.array([upper_left_ink(FORMS[8](rng)) for _ in range(300)])
    assert abs(np.mean(corners < 0.7) - OPEN_EIGHTS) < 0.1


def test_drawn_zeros_are_narrower_than_mnist_zeros(digits):
    """Register and European hands write the 0 as a narrow oval; MNIST's are round."""
    from fcn8_ocr.train.letterforms import continental_digits

    def aspect(image):
        ys, xs = _ink(image)
        return (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)

    drawn = continental_digits(60, seed=1)
    narrow = np.median([aspect(i) for i in drawn.images[drawn.labels == 0]])
    round_ = np.median([aspect(i) for i in digits.images[digits.labels == 0]])
    assert narrow <= 0.6 and narrow < round_ - 0.2


def test_about_half_the_drawn_fours_are_closed(digits):
    """A closed 4 (printed style) encloses a triangle above its bar; MNIST's rarely do."""
    from fcn8_ocr.train.letterforms import continental_digits

    def closed(image):  # any paper enclosed by ink
        paper = (image <= 100).astype(np.uint8)
        count, labels = cv2.connectedComponents(paper, connectivity=4)
        edge = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])))
        return any(c not in edge and (labels == c).sum() >= 2 for c in range(1, count))

    drawn = continental_digits(100, seed=1)
    share = np.mean([closed(i) for i in drawn.images[drawn.labels == 4]])
    assert 0.35 <= share <= 0.65
    assert np.mean([closed(i) for i in digits.images[digits.labels == 4]]) < 0.2


def test_row_tiles_pack_whole_digits_in_rows(digits):
    """`--row-fraction` tiles: rows of MNIST-format digits, every one inside the tile
    (its centre target whole), labelled where its own stroke is, several per row."""
    from fcn8_ocr.train.synth import digit_rows
    from fcn8_ocr.train.tiles import synth_tile

    for seed in range(6):
        centres: list = []
        image, labels = digit_rows(np.random.default_rng(seed), digits, 128, centres=centres)
        assert len(centres) >= 6  # at least 3 rows of 2 or 2 rows of 3
        for cy, cx, height, _ in centres:
            assert height / 2 <= cy <= 128 - height / 2 and 0 <= cx <= 128
        assert (image[labels != BACKGROUND] >= 128).all()
        assert set(np.unique(labels[labels != BACKGROUND])) <= {c[3] for c in centres}
    centres = []
    synth_tile(0, 1, digits, 128, 0.0, 0.0, centres, row_fraction=1.0)
    assert len(centres) >= 6


def test_a_steeply_leaning_digit_is_refitted_into_its_box_not_cut(digits):
    from fcn8_ocr.train.synth import lean_in_box, shear_about_centre

    for image in digits.images[:20]:
        ink = int((image > 30).sum())
        leaned = lean_in_box(image, -1.0, fit=24)
        ys, xs = _ink(leaned)
        assert ys.min() >= 2 and ys.max() <= 25 and xs.min() >= 2 and xs.max() <= 25
        assert max(ys.max() - ys.min(), xs.max() - xs.min()) >= 18  # filled to about 24 px
        top, bottom = xs[ys <= ys.min() + 2].mean(), xs[ys >= ys.max() - 2].mean()
        assert top > bottom  # the top leans right
        assert int((leaned > 30).sum()) > 0.5 * ink
    # the plain shear in the 28 px box cuts a steep digit's corners off; the refit does not
    cut = sum(int(shear_about_centre(i, -1.0).sum()) < 0.97 * int(i.sum()) for i in digits.images[:20])
    assert cut >= 5


def test_reproportioned_digits_move_their_middle_and_keep_their_ink_rows(digits):
    """`--reproportion`: a 9 with a smaller head over a longer tail, same top and bottom."""
    from fcn8_ocr.train.pen import reproportion, reproportioned

    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 13:15] = 255   # a stem from row 4 to row 23
    bar[13:15, 6:22] = 255   # a bar across its middle
    for middle, rows in ((0.35, (10, 12)), (0.65, (15, 18))):
        moved = reproportion(bar, middle)
        ink_rows = np.nonzero(moved.max(axis=1) > 30)[0]
        assert (ink_rows.min(), ink_rows.max()) == (4, 23)
        across = np.nonzero(moved[:, 6:10].max(axis=1) > 127)[0]
        assert rows[0] <= across.mean() <= rows[1]  # was 13.5
    nines = Digits(digits.images[digits.labels == 9], digits.labels[digits.labels == 9], "t")
    changed = reproportioned(nines, 0.5, seed=3)
    assert (changed.labels == nines.labels).all() and changed.images.shape == nines.images.shape
    differ = np.mean([(a != b).any() for a, b in zip(changed.images, nines.images, strict=True)])
    assert 0.3 < differ < 0.7
    assert reproportioned(nines, 0.0) is nines


def test_a_smaller_model_digit_height_draws_smaller_digits_and_sizes_them_by_it(digits):
    """Tiles for an 18 px model: M2NIST-style and row tiles are the drawing of a 24 px
    model's larger square shrunk to the tile (labels and centres alike), field and page
    digits are drawn 0.5-2x of 18 px tall, and the size targets are log2(height / 18)."""
    from fcn8_ocr.train.tiles import centre_targets, synth_tile

    factor = 128 / round(128 * 24 / 18)
    for shares in ({"m2nist_fraction": 1.0, "field_fraction": 0.0, "row_fraction": 0.0},
                   {"m2nist_fraction": 0.0, "field_fraction": 0.0, "row_fraction": 1.0}):
        for index in range(3):
            drawn: list = []
            _, big_labels = synth_tile(1, index, digits, round(128 * 24 / 18), centres=drawn,
                                       **shares)
            found: list = []
            image, labels = synth_tile(1, index, digits, 128, centres=found, digit_height=18.0,
                                       **shares)
            assert image.shape == labels.shape == (128, 128)
            assert np.array_equal(labels, cv2.resize(big_labels, (128, 128),
                                                     interpolation=cv2.INTER_NEAREST))
            assert len(found) == len(drawn) > 0
            for (y, x, height, digit), (by, bx, bheight, bdigit) in zip(found, drawn, strict=True):
                assert (y, x, height, digit) == pytest.approx((by * factor, bx * factor,
                                                               bheight * factor, bdigit))
    heights = []
    for index in range(30):
        found = []
        synth_tile(2, index, digits, 128, 0.0, 0.5, found, 0.0, digit_height=18.0)
        heights += [c[2] for c in found]
        inside = [c for c in found if 0 <= c[0] < 127.5 and 0 <= c[1] < 127.5]
        if inside:
            y, x, height, _ = inside[0]
            _, size = centre_targets(inside[:1], (128, 128), 18.0)
            peak = int(round(y - 0.5)), int(round(x - 0.5))
            assert size[peak][0] == pytest.approx(np.log2(height / 18.0)) and size[peak][1] == 1
    assert np.median(heights) >= 9 * 0.8 and max(heights) <= 36 * 1.25
