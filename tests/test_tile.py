import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fcn8_ocr.tile import cut, padded_size, plan_tiles


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 1800), st.integers(1, 1800), st.sampled_from([64, 128, 256, 768]),
       st.integers(0, 32), st.sampled_from([0, 100_000]))
def test_every_pixel_has_one_owner_with_context(h, w, tile, margin, whole_below):
    margin = min(margin, tile // 4)
    cover = np.zeros((h, w), np.int32)
    tiles = plan_tiles(h, w, tile, margin, whole_below=whole_below)
    for t in tiles:
        height, width = t.y1 - t.y0, t.x1 - t.x0
        assert height % 32 == 0 and width % 32 == 0
        assert len(tiles) == 1 or (height <= tile and width <= tile)
        cover[t.core] += 1
        window = cut(np.ones((h, w), np.uint8), t)
        assert window.shape == (height, width)
        assert window[t.core_in_tile].all()
        (ys, xs) = t.core_in_tile  # an inner side keeps `margin` pixels of context
        assert t.y0 == 0 or ys.start >= margin
        assert t.x0 == 0 or xs.start >= margin
        assert t.y1 >= padded_size(h, 32) or height - ys.stop >= margin
        assert t.x1 >= padded_size(w, 32) or width - xs.stop >= margin
    assert (cover == 1).all()


def test_tiles_overlap_little_more_than_their_margins():
    """A page just over one window each way (1550 x 1060 model pixels, as an A4 page of
    small digits) was read as 6 windows of 768 px, twice its pixels; windows spread evenly
    read it at a sixth more."""
    for h, w in ((1550, 1060), (1684, 1190), (3508, 2480), (2000, 1400)):
        tiles = plan_tiles(h, w, 768, 32)
        inferred = sum((t.y1 - t.y0) * (t.x1 - t.x0) for t in tiles)
        assert inferred <= 1.2 * padded_size(h, 32) * padded_size(w, 32), (h, w)


def test_a_tile_that_cannot_move_past_its_margins_is_refused():
    with pytest.raises(ValueError, match="cannot move"):
        plan_tiles(1000, 1000, 96, 40)
