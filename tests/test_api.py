"""The public Python API (`from fcn8_ocr import Segmenter`): same pages, same results as
the CLI; arrays checked as files are."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fcn8_ocr import InputError, Result, Segmenter
from fcn8_ocr.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "pages"


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter(provider="cpu")


def test_results_and_crops_match_the_cli(tmp_path, seg):
    page = sorted(EXAMPLES.iterdir())[0]
    out = tmp_path / "cli"
    assert CliRunner().invoke(main, ["segment", str(page), "--out", str(out), "-q"]).exit_code == 0
    cli = json.loads((out / "results.jsonl").read_text().splitlines()[0])
    [result] = seg(page)
    assert isinstance(result, Result) and result.regions
    assert result.to_json() == cli
    saved = result.save_crops(tmp_path / "api")
    assert [p.relative_to(tmp_path / "api").as_posix() for p in saved] == [
        r["crop"] for r in cli["regions"]]
    for path in saved:
        rel = path.relative_to(tmp_path / "api")
        assert path.read_bytes() == (out / rel).read_bytes()
    assert result.text == "\n".join(line["text"] for line in cli["lines"])
    assert [c.shape[:2] for c in result.crops()] == [
        (r["crop_bbox"][3], r["crop_bbox"][2]) for r in cli["regions"]]
    mask = result.mask()
    assert mask.shape == result.page.image.shape[:2]
    assert set(np.unique(mask)) <= set(range(11)) and (mask != 10).any()


def test_an_array_gives_what_its_file_gives(seg):
    page = sorted(EXAMPLES.iterdir())[1]
    image = cv2.imread(str(page), cv2.IMREAD_UNCHANGED)
    [from_file], [from_array] = seg(page), seg(image)
    assert [(r.digit, r.box) for r in from_file.regions] == [
        (r.digit, r.box) for r in from_array.regions]
    both = seg([page, image])
    assert len(both) == 2 and both[1].to_json()["regions"] == from_array.to_json()["regions"]


@pytest.mark.parametrize("array, cause", [
    (np.zeros((100, 1), np.uint8), "unusable dimensions 1x100"),
    (np.zeros((5, 5, 5), np.uint8), "unusable array shape"),
    (np.zeros((50, 50), np.int32), "unsupported array type int32"),
    (np.full((50, 50), np.nan, np.float32), "NaN"),
    ([[0, 1], [2, 3]], "not an image array"),
])
def test_bad_arrays_raise_one_clear_input_error(seg, array, cause):
    with pytest.raises(InputError, match=cause):
        seg(array) if not isinstance(array, list) else seg([array])


def test_two_channel_float_and_bool_arrays_are_read(seg):
    grey = np.full((120, 90), 230, np.uint8)
    cv2.line(grey, (45, 20), (45, 100), 20, 4)
    for image in (np.dstack([grey, np.full_like(grey, 255)]), grey.astype(np.float32) / 255,
                  grey < 128):
        [result] = seg(image)
        assert result.page.image.dtype in (np.uint8, np.uint16)


def test_options_are_the_runner_options(rule_model):
    seg = Segmenter(rule_model, provider="cpu", digit_height=30.0, pad=0)
    assert seg.options.digit_height == 30.0 and seg.pad == 0
    with pytest.raises(TypeError):
        Segmenter(rule_model, no_such_option=1)


@pytest.mark.slow
def test_fuzzed_arrays_through_the_api(rule_model):
    """Random arrays (sizes 1-2000, 1-4 channels, 8/16 bit and float): a result or an
    InputError, never another exception. Longer: FCN8_FUZZ_EXAMPLES=1000."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    seg = Segmenter(rule_model, provider="cpu")

    @settings(max_examples=int(os.environ.get("FCN8_FUZZ_EXAMPLES", "12")), deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(1, 2000), st.integers(1, 2000), st.sampled_from([0, 1, 2, 3, 4]),
           st.sampled_from([np.uint8, np.uint16, np.float32]), st.integers(0, 2**31 - 1))
    def check(h, w, channels, dtype, seed):
        rng = np.random.default_rng(seed)
        shape = (h, w) if channels == 0 else (h, w, channels)
        image = (rng.random(shape) * (255 if dtype == np.float32 else np.iinfo(dtype).max)
                 ).astype(dtype)
        try:
            results = seg(image)
        except InputError as exc:
            assert min(h, w) < 8 and "unusable dimensions" in str(exc)
            return
        assert len(results) == 1 and min(h, w) >= 8

    check()
