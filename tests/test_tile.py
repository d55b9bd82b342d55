import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fcn8_ocr.tile import cut, plan_tiles


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 900), st.integers(1, 900), st.sampled_from([64, 128, 256]),
       st.integers(0, 24), st.sampled_from([0, 100_000]))
def test_tiles_cover_every_pixel(h, w, tile, margin, whole_below):
    margin = min(margin, tile // 4)
    cover = np.zeros((h, w), np.int32)
    for t in plan_tiles(h, w, tile, margin, whole_below=whole_below):
        assert (t.y1 - t.y0) % 32 == 0 and (t.x1 - t.x0) % 32 == 0
        cover[t.core] += 1
        window = cut(np.ones((h, w), np.uint8), t)
        assert window.shape == (t.y1 - t.y0, t.x1 - t.x0)
        assert window[t.core_in_tile].all()
    assert cover.min() >= 1
