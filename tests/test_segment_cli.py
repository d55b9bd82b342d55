"""The real `fcn8-ocr segment` command on real files, with a real onnxruntime session."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import jsonschema
import numpy as np
import pytest
from conftest import INK_CLASS

from fcn8_ocr.write import TEMP_PREFIX

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "results.schema.json").read_text())


def run_cli(*args: str, check_code: int | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", *args], capture_output=True,
                            text=True, timeout=300)
    if check_code is not None:
        assert result.returncode == check_code, result.stderr
    return result


@pytest.fixture
def pages(tmp_path: Path, document_set: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(document_set / "images", folder / "a")
    shutil.copytree(document_set / "images", folder / "b")  # same names in another folder
    return folder


def test_segment_writes_crops_jsonl_masks(tmp_path, pages, rule_model, document_set):
    out = tmp_path / "out"
    result = run_cli("segment", str(pages), "--out", str(out), "--model", str(rule_model),
                     "--labels", str(document_set / "labels"), "--save-masks", "--save-overlay",
                     "--quiet", check_code=0)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 6, result.stderr
    names = {r["name"] for r in records}
    assert len(names) == 6 and any(n.startswith("a__") for n in names)
    for record in records:
        jsonschema.validate(record, SCHEMA)
        assert record["regions"], "the rule model finds the ink"
        page = cv2.imread(record["source"], cv2.IMREAD_COLOR)
        for region in record["regions"]:
            assert region["class"] == INK_CLASS
            crop = cv2.imread(str(out / region["crop"]), cv2.IMREAD_COLOR)
            x, y, w, h = region["crop_bbox"]
            assert crop.shape[:2] == (h, w)
            assert np.array_equal(crop, page[y : y + h, x : x + w])  # cut from the original
            bx, by, bw, bh = region["bbox"]
            assert x <= bx and y <= by and bx + bw <= x + w and by + bh <= y + h
        mask = cv2.imread(str(out / record["mask"]), cv2.IMREAD_UNCHANGED)
        assert mask.shape == (record["height"], record["width"])
        assert set(np.unique(mask)) <= {INK_CLASS, 10}
        assert (out / record["overlay"]).is_file()
        order = [(r["line"], r["position"]) for r in record["regions"]]
        assert order == sorted(order)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["classes"]["3"]["iou"] is not None and len(metrics["pages"]) == 6
    assert (out / "metrics.png").is_file() and (out / "confusion.csv").is_file()
    assert not list(out.rglob("*.tmp"))


def test_bad_inputs_are_reported_and_the_batch_goes_on(tmp_path, document_set, rule_model):
    folder = tmp_path / "in"
    folder.mkdir()
    good = next((document_set / "images").iterdir())
    shutil.copy(good, folder / "good.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image at all")
    png = cv2.imencode(".png", np.full((200, 200), 200, np.uint8))[1].tobytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    out = tmp_path / "out"
    result = run_cli("segment", str(folder), str(tmp_path / "missing*.png"), "--out", str(out),
                     "--model", str(rule_model), "--quiet", check_code=1)
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text().splitlines()]
    failed = {Path(e["source"]).name for e in errors}
    assert failed == {"empty.png", "text.png", "truncated.png", "missing*.png"}
    for error in errors:
        assert error["source"] in result.stderr and error["error"]
        line = next(x for x in result.stderr.splitlines() if error["source"] in x)
        assert line.startswith("error: ")
    records = (out / "results.jsonl").read_text().splitlines()
    assert len(records) == 1 and json.loads(records[0])["name"] == "good"


def test_model_and_usage_errors_have_their_exit_codes(tmp_path, document_set):
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"nope")
    result = run_cli("segment", str(document_set / "images"), "--out", str(tmp_path / "o"),
                     "--model", str(bogus), check_code=3)
    assert "bogus.onnx" in result.stderr
    run_cli("segment", str(document_set / "images"), check_code=2)  # --out missing


def test_outputs_are_byte_identical_and_resume_finishes_the_job(tmp_path, document_set, rule_model):
    images = str(document_set / "images")
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        run_cli("segment", images, "--out", str(out), "--model", str(rule_model), "-q", check_code=0)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel

    # an interrupted run: one complete page and a torn line
    lines = (first / "results.jsonl").read_text().splitlines(keepends=True)
    (second / "results.jsonl").write_text(lines[0] + lines[1][:40])
    result = run_cli("segment", images, "--out", str(second), "--model", str(rule_model),
                     "--resume", check_code=0)
    assert "skipped as done: 1" in result.stderr
    assert (second / "results.jsonl").read_text() == "".join(lines)


def test_multipage_tiff_16bit_rgba_and_npy(tmp_path, rule_model, m2nist_set):
    folder = tmp_path / "in"
    folder.mkdir()
    page = np.full((240, 320), 230, np.uint8)
    cv2.putText(page, "42", (40, 170), cv2.FONT_HERSHEY_SIMPLEX, 4, 20, 12)
    cv2.imwritemulti(str(folder / "multi.tif"), [page, page])
    cv2.imwrite(str(folder / "deep.png"), page.astype(np.uint16) * 257)
    rgba = np.dstack([np.zeros((240, 320, 3), np.uint8), 255 - page])  # ink only in alpha
    cv2.imwrite(str(folder / "alpha.png"), rgba)
    shutil.copy(m2nist_set / "combined.npy", folder / "combined.npy")
    shutil.copy(m2nist_set / "segmented.npy", folder / "segmented.npy")
    out = tmp_path / "out"
    run_cli("segment", str(folder), "--out", str(out), "--model", str(rule_model), "-q", check_code=0)
    records = {json.loads(x)["name"]: json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()}
    assert {"multi_p001", "multi_p002", "deep", "alpha", "combined_00001"} <= set(records)
    for name in ("multi_p001", "multi_p002", "deep", "alpha"):
        assert len(records[name]["regions"]) == 2, name  # "4" and "2"
        assert records[name]["lines"][0]["text"] == "33" or records[name]["lines"][0]["text"] == "3 3"
    assert (out / "metrics.json").is_file()  # segmented.npy beside combined.npy gives labels


def test_workers_give_the_same_results(tmp_path, document_set, rule_model):
    images = str(document_set / "images")
    one, two = tmp_path / "one", tmp_path / "two"
    run_cli("segment", images, "--out", str(one), "--model", str(rule_model), "-q", check_code=0)
    run_cli("segment", images, "--out", str(two), "--model", str(rule_model), "-q",
            "--workers", "2", check_code=0)
    assert (one / "results.jsonl").read_bytes() == (two / "results.jsonl").read_bytes()


def test_pdf_pages(tmp_path, rule_model):
    pytest.importorskip("pypdfium2")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    pdf = tmp_path / "scan.pdf"
    with PdfPages(pdf) as doc:
        for text in ("12", "345"):
            fig = plt.figure(figsize=(3, 2))
            fig.text(0.2, 0.3, text, fontsize=60)
            doc.savefig(fig)
            plt.close(fig)
    out = tmp_path / "out"
    run_cli("segment", str(pdf), "--out", str(out), "--model", str(rule_model), "--dpi", "150",
            "-q", check_code=0)
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["name"] for r in records] == ["scan_p001", "scan_p002"]
    assert [len(r["regions"]) for r in records] == [2, 3]
    assert abs(records[0]["width"] - 450) <= 1  # 3 inch at 150 dpi


def test_cuda_request_without_cuda_is_a_model_error(tmp_path, document_set, rule_model):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    result = run_cli("segment", str(document_set / "images"), "--out", str(tmp_path / "o"),
                     "--model", str(rule_model), "--provider", "cuda", check_code=3)
    assert "CUDA" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_killed_run_leaves_no_half_files_and_resume_finishes(tmp_path, rule_model, digits):
    import signal
    import time

    from fcn8_ocr.train.synth import document_page

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(8):
        image, _ = document_page(np.random.default_rng(i), digits, 1400, 1000, (40, 80))
        cv2.imwrite(str(folder / f"page{i}.png"), image)
    reference = tmp_path / "reference"
    run_cli("segment", str(folder), "--out", str(reference), "--model", str(rule_model), "-q",
            check_code=0)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "fcn8_ocr", "segment", str(folder), "--out",
                                str(out), "--model", str(rule_model), "-q"])
    results = out / "results.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if results.is_file() and results.read_text().count("\n") >= 2:
            process.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    done = results.read_text().count("\n")
    # a kill may leave temporary files, but only ones the tool names (and later deletes)
    assert all(p.name.startswith(TEMP_PREFIX) for p in out.rglob("*.tmp"))
    for crop in out.rglob("*.png"):
        assert cv2.imread(str(crop)) is not None, crop  # every file present is whole
    run_cli("segment", str(folder), "--out", str(out), "--model", str(rule_model), "--resume", "-q",
            check_code=0)
    assert not list(out.rglob("*.tmp"))
    assert sorted(results.read_text().splitlines()) == sorted(
        (reference / "results.jsonl").read_text().splitlines())
    if done < 8:  # the kill landed mid-run: the rerun skipped what was done
        assert _files_equal(reference, out)


def _files_equal(a: Path, b: Path) -> bool:
    files_a = {p.relative_to(a) for p in (a / "crops").rglob("*.png")}
    files_b = {p.relative_to(b) for p in (b / "crops").rglob("*.png")}
    return files_a == files_b and all((a / f).read_bytes() == (b / f).read_bytes() for f in files_a)
