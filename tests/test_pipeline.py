"""Pipeline invariants with a real onnxruntime session (rule model)."""

import cv2
import numpy as np

from fcn8_ocr.config import Options
from fcn8_ocr.infer import OnnxModel
from fcn8_ocr.pipeline import segment_pages
from fcn8_ocr.read import Page


def test_tiled_and_whole_page_inference_agree(rule_model, document_set):
    path = sorted((document_set / "images").iterdir())[0]
    page = Page(path, "p", 1, cv2.imread(str(path)))
    segmenter = OnnxModel(rule_model)
    whole = segment_pages([page], segmenter, segmenter.info, Options(), want_mask=True)[0]
    tiled = segment_pages([page], segmenter, segmenter.info,
                          Options(tile=128, margin=16, whole_below=0), want_mask=True)[0]
    assert whole.mask is not None and (whole.mask != 10).any()
    assert np.array_equal(whole.mask, tiled.mask)
    assert [r.box for r in whole.regions] == [r.box for r in tiled.regions]


def test_coordinates_refer_to_the_original_page(rule_model):
    page = np.full((900, 700), 240, np.uint8)
    cv2.rectangle(page, (300, 400), (330, 520), 10, -1)  # one tall stroke, 120 px
    segmenter = OnnxModel(rule_model)
    for digit_height in (60.0, 120.0, 240.0):
        result = segment_pages([Page(__file__, "p", 1, page)], segmenter, segmenter.info,
                               Options(digit_height=digit_height), want_mask=True)[0]
        (region,) = result.regions
        x, y, w, h = region.box
        assert abs(x - 300) <= 1 and abs(y - 400) <= 1 and abs(w - 31) <= 2 and abs(h - 121) <= 2
        assert result.mask[460, 315] == 3 and result.mask[100, 100] == 10


def test_ink_level_sets_which_pixels_count_as_strokes(rule_model):
    """115 keeps pixels at least half covered by a stroke; 1 keeps every trace of ink, as
    M2NIST's own masks count it."""
    page = np.zeros((200, 200), np.uint8)  # white on black, as M2NIST
    cv2.rectangle(page, (90, 60), (100, 140), 255, -1)
    page[60:141, 101:104] = 40  # a faint anti-aliased fringe along one side
    segmenter = OnnxModel(rule_model)

    def mask(**options):
        return segment_pages([Page(__file__, "p", 1, page)], segmenter, segmenter.info,
                             Options(digit_height=80.0, **options), want_mask=True)[0].mask

    half, every = mask(), mask(ink_level=1)
    stroke, fringe = (slice(62, 139), slice(91, 100)), (slice(62, 139), slice(101, 104))
    assert (half[stroke] == 3).all() and (half[fringe] == 10).all()
    assert (every[stroke] == 3).all() and (every[fringe] == 3).all() and (every[:, :85] == 10).all()
