"""The model that ships in the package: its metadata, its accuracy on the bundled
sample pages, and its presence in the built wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from fcn8_ocr.models import DEFAULT_MODEL

ROOT = Path(__file__).parents[1]


def test_info_without_a_model_shows_the_bundled_contract():
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "info", "--json"], capture_output=True,
                            text=True, check=True)
    summary = json.loads(result.stdout)
    assert [i["name"] for i in summary["inputs"]] == ["image"]
    assert summary["inputs"][0]["type"] == "tensor(uint8)"
    assert sorted(o["name"] for o in summary["outputs"]) == ["centres", "labels", "scores", "sizes"]
    meta = summary["metadata"]
    assert meta["classes"][meta["background_id"]] == "background"
    assert meta["digit_height"] > 0 and meta["stride"] == 32
    for test_set in ("m2nist_test", "m2nist_overlap_test", "document_test"):
        assert 0.0 < meta["metrics"][test_set]["mean_digit_iou"] <= 1.0
    assert 0.0 < meta["metrics"]["field_test"]["string_accuracy"] <= 1.0
    assert meta["training"]["centres"] and "mnist-train" in meta["training"]["digit_source"]
    assert set(meta["centres"]) == {"threshold", "same_digit", "slant", "reach", "narrow",
                                    "narrow_across", "other_class"}
    assert DEFAULT_MODEL.stat().st_size < 8_000_000


def test_readme_command_segments_the_examples_well(tmp_path):
    out = tmp_path / "crops"
    subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(ROOT / "examples" / "pages"),
                    "--out", str(out), "--labels", str(ROOT / "examples" / "labels"), "--quiet"],
                   check=True, capture_output=True, text=True)
    metrics = json.loads((out / "metrics.json").read_text())
    # measured 0.832 with the bundled model (0.778 while these pages' smaller rows were
    # dropped as the short lines of a field crop); a broken step or model drops far below
    assert metrics["mean_digit_iou"] >= 0.8
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3
    regions = sum(len(json.loads(line)["regions"]) for line in lines)
    crops = list((out / "crops").rglob("*.png"))
    assert regions == len(crops) > 300


@pytest.mark.slow
def test_the_wheel_carries_the_bundled_model(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("fcn8_ocr", "train", "export"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, text=True)
    wheel = next((tmp_path / "dist").glob("fcn8_ocr-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "fcn8_ocr/models/default.onnx" in names
    assert "fcn8_ocr/train/model.py" in names and "fcn8_ocr/export/convert.py" in names
    assert not any(n.startswith(("train/", "export/")) for n in names)



def test_the_bundled_model_finds_digit_centres_and_sizes():
    from fcn8_ocr.infer import OnnxModel

    assert OnnxModel().info.instances  # one region per digit, scale from the model


@pytest.mark.parametrize("kind, size, height, count", [("field", (300, 420), 64.0, 48),
                                                       ("page", (1200, 1600), 70.0, 1)])
def test_scale_estimate_on_a_field_crop_and_a_page(digits, kind, size, height, count):
    """The runner's digit height (ink estimate, corrected by the model's sizes) is within
    25 % of the true height on 7 in 10 register-like field crops (one number each, some
    faint, half hidden, or beside handwritten words that throw the ink estimate) and on a
    scan-like page; on the crops the model's correction beats the ink estimate alone."""
    import numpy as np
    from fcn8_ocr.train.synth import document_page
    from fcn8_ocr.train.synthesize import whole_field

    from fcn8_ocr.config import Options
    from fcn8_ocr.infer import OnnxModel
    from fcn8_ocr.normalise import estimate_digit_height, to_grey
    from fcn8_ocr.pipeline import segment_pages
    from fcn8_ocr.read import Page

    def close(estimate: float | None, truth: float) -> bool:
        return estimate is not None and 0.8 <= estimate / truth <= 1.25

    segmenter = OnnxModel()
    within, by_ink, found, expected = 0, 0, 0, 0
    for seed in range(11, 11 + count):
        rng = np.random.default_rng(seed)
        centres: list = []
        if kind == "field":
            image, _, centres = whole_field(rng, digits, size, (height, height))
        else:
            image, _ = document_page(rng, digits, size[1], size[0], (height, height), pen=1.0,
                                     centres=centres)
        truth = float(np.median([c[2] for c in centres]))
        result = segment_pages([Page("t", kind, 1, image)], segmenter, segmenter.info,
                               Options())[0]
        within += close(result.norm.digit_height, truth)
        by_ink += close(estimate_digit_height(to_grey(image)), truth)
        h, w = image.shape[:2]  # digits the page's edge cuts through are no regions
        expected += sum(min(c[0], h - c[0], c[1], w - c[1]) > c[2] / 2 for c in centres)
        found += len(result.regions)
    assert within >= 0.7 * count
    if kind == "field":  # the model's sizes correct the ink guess on 1 crop in 10 or more
        assert within >= by_ink + 0.1 * count
    assert found >= 0.7 * expected


def test_pages_of_mixed_digit_sizes_are_read_below_the_median_digit_size(digits):
    """An A4 page whose rows hold digits 40-120 px tall is read at the model's 40th size
    percentile (the default), a smaller digit height than its median, which leaves the
    smallest digits at under half the model's height; a field crop is read at the median
    whatever the setting. What it buys is a val figure, not this test's: on the 20 val
    pages 0.728 -> 0.747 with real-v35, 0.739 -> 0.755 with real-v37 (docs/model.md); on
    two pages the IoU difference is within noise (real-v30 +0.024 a page, real-v35
    +0.003, real-v37 -0.008), so it is not asserted here."""
    import numpy as np
    from fcn8_ocr.train.synth import document_page
    from fcn8_ocr.train.synthesize import whole_field

    from fcn8_ocr.config import Options
    from fcn8_ocr.infer import OnnxModel
    from fcn8_ocr.pipeline import segment_pages
    from fcn8_ocr.read import Page

    segmenter = OnnxModel()

    def read(image: np.ndarray, quantile: float):
        return segment_pages([Page("t", "page", 1, image)], segmenter, segmenter.info,
                             Options(size_quantile=quantile))[0]

    image, _ = document_page(np.random.default_rng(1), digits, 3508, 2480, (40, 120), pen=1.0)
    default, median = read(image, Options().size_quantile), read(image, 0.5)
    # real-v37: 59.1 px against 64.2 at the median; equal when the default is the median
    assert default.norm.digit_height < 0.95 * median.norm.digit_height
    field, _, _ = whole_field(np.random.default_rng(3), digits, (300, 420), (64.0, 64.0))
    assert read(field, 0.2).norm.digit_height == read(field, 0.5).norm.digit_height
