"""Bad input, full disks and interruptions (the hardening issue): each case failed before
its fix."""

import json
import os
import signal
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fcn8_ocr.cli import main
from fcn8_ocr.read import Source, read_pages

ROOT = Path(__file__).parents[1]


def test_a_full_disk_leaves_no_torn_line(tmp_path):
    """A real short write: the file size limit (RLIMIT_FSIZE) stops the line part way."""
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"name":"a"}\n')
    script = f"""
import resource, signal, sys
from pathlib import Path
from fcn8_ocr.write import append_jsonl
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
size = Path({str(path)!r}).stat().st_size
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, size + 10))
try:
    append_jsonl(Path({str(path)!r}), {{"name": "b", "regions": list(range(40))}})
except OSError as exc:
    print("raised", exc.errno)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "raised" in result.stdout, result.stderr
    assert path.read_bytes() == b'{"name":"a"}\n'



def test_a_full_disk_keeps_the_old_crop_and_no_temporary(tmp_path):
    """`atomic_write` cut short by the file size limit: the file already there is kept
    whole and the temporary file is removed."""
    path = tmp_path / "crops" / "7" / "page_001.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old")
    script = f"""
import resource, signal
from pathlib import Path
from fcn8_ocr.write import atomic_write
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000))
try:
    atomic_write(Path({str(path)!r}), bytes(20000))
except OSError as exc:
    print("raised", exc.errno)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "raised" in result.stdout, result.stderr
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_atomic_write_makes_folders_and_steps_over_a_taken_temporary(tmp_path, monkeypatch):
    """A missing folder is made; a temporary file under the name it would take next (left
    by a killed run, or another writer's) is stepped over, not written into or deleted."""
    import itertools

    from fcn8_ocr import write

    folder = tmp_path / "a" / "b"
    write.atomic_write(folder / "first.png", b"1")
    monkeypatch.setattr(write, "_TEMPORARY_NAMES", itertools.count(7))
    taken = Path(write._temporary_name(folder, 7))
    taken.write_bytes(b"taken")
    write.atomic_write(folder / "second.png", b"2")
    assert (folder / "first.png").read_bytes() == b"1"
    assert (folder / "second.png").read_bytes() == b"2"
    assert taken.read_bytes() == b"taken"
    assert sorted(p.name for p in folder.iterdir()) == sorted(["first.png", "second.png",
                                                               taken.name])
    assert (folder / "second.png").stat().st_mode & 0o777 == 0o644 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def m2nist_pair(folder: Path, masks: np.ndarray) -> Path:
    folder.mkdir()
    images = np.zeros((2, 64, 84), np.uint8)
    images[:, 10:30, 10:20] = 255
    np.save(folder / "combined.npy", images)
    np.save(folder / "segmented.npy", masks)
    return folder / "combined.npy"


def test_m2nist_class_id_masks_are_read(tmp_path):
    ids = np.full((2, 64, 84), 10, np.uint8)
    ids[:, 10:30, 10:20] = 7
    pages = list(read_pages(Source(m2nist_pair(tmp_path / "ids", ids), "m")))
    assert len(pages) == 2 and (pages[0].labels[10:30, 10:20] == 7).all()
    assert (pages[0].labels[40:, :] == 10).all()


def test_an_unmatched_m2nist_mask_is_an_input_error(tmp_path, rule_model):
    combined = m2nist_pair(tmp_path / "bad", np.zeros((2, 64, 80), np.uint8))
    result = CliRunner().invoke(main, ["segment", str(combined), "--out", str(tmp_path / "out"),
                                       "--model", str(rule_model), "--quiet"])
    assert result.exit_code == 1
    assert "segmented.npy: shape (2, 64, 80) matches neither" in result.output


def test_the_smallest_tile_works_on_a_large_page(tmp_path, rule_model):
    page = np.full((1200, 900), 235, np.uint8)
    cv2.rectangle(page, (100, 100), (130, 220), 20, -1)
    cv2.imwrite(str(tmp_path / "page.png"), page)
    too_small = CliRunner().invoke(main, ["segment", str(tmp_path / "page.png"), "--out",
                                          str(tmp_path / "o1"), "--tile", "64"])
    assert too_small.exit_code == 2
    result = CliRunner().invoke(main, ["segment", str(tmp_path / "page.png"), "--out",
                                       str(tmp_path / "o2"), "--tile", "96", "--digit-height",
                                       "120", "--model", str(rule_model), "--quiet"])
    assert result.exit_code == 0, result.output


def test_resume_does_not_repeat_or_keep_old_errors(tmp_path, rule_model):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "bad.png").write_bytes(b"not a png")
    cv2.imwrite(str(inputs / "good.png"), np.full((100, 100), 235, np.uint8))
    args = ["segment", str(inputs), "--out", str(tmp_path / "out"), "--model", str(rule_model),
            "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 1
    assert CliRunner().invoke(main, [*args, "--resume"]).exit_code == 1
    errors = (tmp_path / "out" / "errors.jsonl").read_text().splitlines()
    assert len(errors) == 1
    cv2.imwrite(str(inputs / "bad.png"), np.full((100, 100), 235, np.uint8))  # fixed
    assert CliRunner().invoke(main, [*args, "--resume"]).exit_code == 0
    assert not (tmp_path / "out" / "errors.jsonl").exists()
    names = [json.loads(line)["name"] for line in
             (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(names) == ["bad", "good"]


def test_empty_folders_and_broken_links_are_reported(tmp_path, rule_model):
    empty = tmp_path / "empty"
    empty.mkdir()
    full = tmp_path / "full"
    full.mkdir()
    cv2.imwrite(str(full / "page.png"), np.full((100, 100), 235, np.uint8))
    os.symlink(tmp_path / "gone.png", full / "link.png")
    result = CliRunner().invoke(main, ["segment", str(empty), str(full), "--out",
                                       str(tmp_path / "out"), "--model", str(rule_model), "--quiet"])
    assert result.exit_code == 1
    assert "empty: folder holds no page files" in result.output
    assert "link.png: broken symbolic link" in result.output


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, rule_model):
    pages = tmp_path / "pages"
    pages.mkdir()
    page = np.full((3000, 2400), 235, np.uint8)
    cv2.randu(page[::40], 0, 255)  # ink on every tile: no tile is skipped as blank
    for k in range(120):  # far longer than the wait below, even on a loaded machine
        cv2.imwrite(str(pages / f"p{k:03d}.png"), page)
    proc = subprocess.Popen([sys.executable, "-m", "fcn8_ocr", "segment", str(pages), "--out",
                             str(tmp_path / "out"), "--model", str(rule_model), "--quiet"],
                            stderr=subprocess.PIPE, text=True,
                            # a shell's background job ignores SIGINT; a user's Ctrl-C does not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    results = tmp_path / "out" / "results.jsonl"
    for _ in range(600):  # wait until the run is under way
        if results.exists() and results.stat().st_size:
            break
        proc.poll()
        assert proc.returncode is None
        subprocess.run(["sleep", "0.1"])
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "--resume" in stderr and "Aborted!" not in stderr
    assert len(results.read_text().splitlines()) < 120  # it was stopped, not finished


def test_page_names_are_unique_across_the_batch(tmp_path, rule_model):
    inputs = tmp_path / "in"
    inputs.mkdir()
    page = np.full((200, 160), 235, np.uint8)
    cv2.rectangle(page, (60, 50), (75, 150), 20, -1)
    ok, tiff = cv2.imencodemulti(".tif", [page, page])
    assert ok
    (inputs / "scan.tif").write_bytes(tiff.tobytes())
    cv2.imwrite(str(inputs / "scan_p001.jpg"), page)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["segment", str(inputs), "--out", str(out), "--model",
                                       str(rule_model), "--digit-height", "100", "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    names = [r["name"] for r in records]
    assert len(names) == 3 and len(set(names)) == 3
    crops = [c["crop"] for r in records for c in r["regions"]]
    assert len(crops) == len(set(crops)) == 3 and all((out / c).is_file() for c in crops)


def test_a_very_long_file_name_does_not_stop_the_batch(tmp_path, rule_model):
    inputs = tmp_path / "in"
    inputs.mkdir()
    page = np.full((200, 160), 235, np.uint8)
    cv2.rectangle(page, (60, 50), (75, 150), 20, -1)
    long_name = "x" * 240 + ".png"
    cv2.imwrite(str(inputs / long_name), page)
    cv2.imwrite(str(inputs / "z.png"), page)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["segment", str(inputs), "--out", str(out), "--model",
                                       str(rule_model), "--digit-height", "100", "--quiet"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 2
    assert all(len(Path(c["crop"]).name) < 200 for r in records for c in r["regions"])


def test_out_inside_an_input_folder(tmp_path, rule_model):
    """The run's own outputs are never pages, and a user's own .tmp files are kept."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    page = np.full((200, 160), 235, np.uint8)
    cv2.rectangle(page, (60, 50), (75, 150), 20, -1)
    cv2.imwrite(str(inputs / "a.png"), page)
    out = inputs / "crops"
    out.mkdir()
    (out / ".notes.tmp").write_text("mine")
    args = ["segment", str(inputs), "--out", str(out), "--model", str(rule_model),
            "--digit-height", "100", "--quiet", "--save-overlay"]
    for _ in range(2):
        assert CliRunner().invoke(main, args).exit_code == 0
    names = [json.loads(line)["name"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert names == ["a"]
    assert (out / ".notes.tmp").read_text() == "mine"


def test_a_second_run_into_the_same_out_stops_at_once(tmp_path, rule_model):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    cv2.imwrite(str(tmp_path / "a.png"), np.full((100, 100), 235, np.uint8))
    with open(out / ".fcn8-ocr.lock", "a") as held:  # a run in progress holds this
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment",
                                 str(tmp_path / "a.png"), "--out", str(out), "--model",
                                 str(rule_model), "--quiet"], capture_output=True, text=True)
    assert result.returncode == 4
    assert "another fcn8-ocr run is writing here" in result.stderr
    assert "Traceback" not in result.stderr and not (out / "results.jsonl").exists()


def test_an_unwritable_out_is_one_line_and_exit_4(tmp_path, rule_model):
    cv2.imwrite(str(tmp_path / "a.png"), np.full((100, 100), 235, np.uint8))
    (tmp_path / "file").write_text("x")
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "a.png"),
                             "--out", str(tmp_path / "file" / "out"), "--model", str(rule_model),
                             "--quiet"], capture_output=True, text=True)
    assert result.returncode == 4
    assert result.stderr.count("\n") == 1 and "cannot write here" in result.stderr


def broken_model(tmp_path: Path, name: str, change) -> Path:
    """The rule model of conftest with one part of its contract broken by `change`."""
    import onnx
    from conftest import threshold_model

    path = threshold_model(tmp_path / f"{name}.onnx")
    proto = onnx.load(path)
    change(proto)
    path.write_bytes(proto.SerializeToString())
    return path


def set_meta(key: str, value: str):
    def change(proto):
        for prop in proto.metadata_props:
            if prop.key == f"fcn8_ocr.{key}":
                prop.value = value
                return
        proto.metadata_props.add(key=f"fcn8_ocr.{key}", value=value)
    return change


@pytest.mark.parametrize("name, change, cause", [
    ("stride0", set_meta("stride", "0"), "stride must be a positive integer"),
    ("height0", set_meta("digit_height", "0"), "digit_height must be a number of pixels"),
    ("bgfloat", set_meta("background_id", "10.5"), "background_id must be an integer"),
    ("rule", set_meta("centres", '{"threshold": 2}'), "metadata centres has values out of range"),
    ("rulekey", set_meta("centres", '{"reach": [1, 1], "radius": 3}'), "metadata centres must be"),
    ("narrow", set_meta("centres", '{"narrow": ["1"]}'), "metadata centres has values out of range"),
    ("narrow0", set_meta("centres", '{"narrow_across": 0}'), "metadata centres has values out of range"),
    ("other0", set_meta("centres", '{"other_class": [0.2, -1]}'), "metadata centres has values out of range"),
])
def test_model_faults_exit_3_with_one_line(tmp_path, name, change, cause):
    model = broken_model(tmp_path, name, change)
    cv2.imwrite(str(tmp_path / "a.png"), np.full((100, 100), 235, np.uint8))
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "a.png"),
                             "--out", str(tmp_path / "out"), "--model", str(model), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert cause in result.stderr and result.stderr.count("\n") == 1


def test_a_missing_keras_checkpoint_is_a_model_error(tmp_path):
    cv2.imwrite(str(tmp_path / "a.png"), np.full((100, 100), 235, np.uint8))
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "a.png"),
                             "--out", str(tmp_path / "out"), "--model", str(tmp_path / "gone.keras"),
                             "--quiet"], capture_output=True, text=True)
    assert result.returncode == 3
    assert "gone.keras: model file not found" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_fuzzed_images_are_all_accounted_for(tmp_path_factory, rule_model):
    """Random images (sizes 1-400, 1-4 channels, 8/16 bit, random content) through the
    CLI's file path: no crash, every input in results or errors, no partial file left.
    A longer run: FCN8_FUZZ_EXAMPLES=1000 pytest tests/test_hardening.py -k fuzz"""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    examples = int(os.environ.get("FCN8_FUZZ_EXAMPLES", "12"))

    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.integers(1, 400), st.integers(1, 400), st.sampled_from([1, 2, 3, 4]),
           st.sampled_from([np.uint8, np.uint16]), st.sampled_from([".png", ".tif", ".jpg"]),
           st.integers(0, 2**31 - 1))
    def check(h, w, channels, dtype, suffix, seed):
        if suffix == ".jpg":
            dtype, channels = np.uint8, min(channels, 3)
        folder = tmp_path_factory.mktemp("fuzz")
        rng = np.random.default_rng(seed)
        shape = (h, w) if channels == 1 else (h, w, channels)
        image = rng.integers(0, np.iinfo(dtype).max, size=shape, endpoint=True).astype(dtype)
        path = folder / f"page{suffix}"
        try:
            written = cv2.imwrite(str(path), image)
        except cv2.error:
            written = False
        if not written:
            path.write_bytes(rng.bytes(64))  # a layout OpenCV will not write: junk bytes
        out = folder / "out"
        result = CliRunner().invoke(main, ["segment", str(path), "--out", str(out), "--model",
                                           str(rule_model), "--quiet"])
        assert result.exit_code in (0, 1), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        lines = [json.loads(x) for name in ("results.jsonl", "errors.jsonl")
                 if (out / name).exists() for x in (out / name).read_text().splitlines()]
        assert lines, "the input is in neither results.jsonl nor errors.jsonl"
        assert not list(out.rglob("*.tmp"))

    check()


def test_a_bad_label_file_still_segments_its_page(tmp_path, rule_model):
    pages, labels = tmp_path / "pages", tmp_path / "labels"
    pages.mkdir()
    labels.mkdir()
    page = np.full((200, 160), 235, np.uint8)
    cv2.rectangle(page, (60, 50), (75, 150), 20, -1)
    cv2.imwrite(str(pages / "a.png"), page)
    cv2.imwrite(str(labels / "a.png"), np.full((50, 50), 10, np.uint8))  # wrong size
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["segment", str(pages), "--out", str(out), "--labels",
                                       str(labels), "--model", str(rule_model), "--digit-height",
                                       "100", "--quiet"])
    assert result.exit_code == 1
    (error,) = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert error["source"].endswith("labels/a.png") and "pages/a.png" in error["error"]
    (record,) = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert record["name"] == "a" and len(record["regions"]) == 1


def test_a_huge_image_claimed_by_a_small_png_is_refused_from_its_header(tmp_path):
    """The header is read before decoding: a few bytes claiming 30000x30000 px are refused
    without allocating the image."""
    import struct
    import zlib

    ok, png = cv2.imencode(".png", np.zeros((10, 10), np.uint8))
    data = bytearray(png.tobytes())
    data[16:24] = struct.pack(">II", 30000, 30000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # a valid IHDR CRC
    (tmp_path / "huge.png").write_bytes(bytes(data))
    script = f"""
import resource
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (600 << 20, 600 << 20))
from fcn8_ocr.read import InputError, Source, read_pages
try:
    list(read_pages(Source(Path({str(tmp_path / 'huge.png')!r}), "huge")))
except InputError as exc:
    print(exc)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert "unusable dimensions 30000x30000 (from the file header)" in result.stdout, result.stderr


def test_a_huge_pdf_page_is_refused_before_rendering(tmp_path, rule_model):
    pytest.importorskip("pypdfium2")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(200, 200))  # a 200-inch page: 60,000 px a side at 300 dpi
    fig.text(0.5, 0.5, "1")
    fig.savefig(tmp_path / "poster.pdf")
    plt.close(fig)
    result = CliRunner().invoke(main, ["segment", str(tmp_path / "poster.pdf"), "--out",
                                       str(tmp_path / "out"), "--model", str(rule_model), "--quiet"])
    assert result.exit_code == 1
    assert "page 1 would be 60000x60000 px at 300 dpi" in result.output


@pytest.mark.parametrize("dpi", ["inf", "nan", "0", "-5"])
def test_bad_dpi_values_are_usage_errors(tmp_path, dpi):
    result = CliRunner().invoke(main, ["segment", str(tmp_path), "--out", str(tmp_path / "o"),
                                       "--dpi", dpi])
    assert result.exit_code == 2 and "--dpi" in result.output


def test_stderr_has_one_line_per_error_even_for_odd_names(tmp_path, rule_model):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "bad\nname.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)  # a broken PNG
    cv2.imwrite(str(inputs / "good.png"), np.full((100, 100), 235, np.uint8))
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(inputs), "--out",
                             str(tmp_path / "out"), "--model", str(rule_model), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad\\nname.png" in lines[0]


def test_a_truncated_multi_page_tiff_is_reported(tmp_path, rule_model):
    pages = [np.full((60, 50), v, np.uint8) for v in (50, 120, 200)]
    ok, tiff = cv2.imencodemulti(".tif", pages)
    data = tiff.tobytes()
    (tmp_path / "whole.tif").write_bytes(data)
    (tmp_path / "cut.tif").write_bytes(data[:-10])  # OpenCV alone decodes 2 pages, silently
    assert len(list(read_pages(Source(tmp_path / "whole.tif", "whole")))) == 3
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "cut.tif"),
                             "--out", str(tmp_path / "out"), "--model", str(rule_model), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "cut.tif: damaged TIFF: its list of pages breaks off after page 2" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_damaged_tiff_page_is_reported_and_the_others_segmented(tmp_path, rule_model):
    """libtiff decodes a page with corrupt LZW data into garbage pixels and only logs it;
    that page is an error of its own, the good pages are segmented."""
    pages = [np.full((120, 100), 230, np.uint8) for _ in range(3)]
    pages[1] = np.random.default_rng(1).integers(0, 255, (120, 100), dtype=np.uint8)
    ok, tiff = cv2.imencodemulti(".tif", pages)
    data = bytearray(tiff.tobytes())
    order = "<" if data[:2] == b"II" else ">"
    ifd = struct.unpack(order + "I", data[4:8])[0]
    link = ifd + 2 + 12 * struct.unpack(order + "H", data[ifd : ifd + 2])[0]
    ifd = struct.unpack(order + "I", data[link : link + 4])[0]  # page 2's directory
    entries = struct.unpack(order + "H", data[ifd : ifd + 2])[0]
    tags = {struct.unpack(order + "H", data[ifd + 2 + 12 * k : ifd + 4 + 12 * k])[0]: ifd + 2 + 12 * k
            for k in range(entries)}
    count, value = struct.unpack(order + "I", data[tags[273] + 4 : tags[273] + 8])[0], tags[273] + 8
    first_strip = struct.unpack(order + "I", data[value : value + 4])[0]
    if count > 1:  # the value is a pointer to the list of strip offsets
        first_strip = struct.unpack(order + "I", data[first_strip : first_strip + 4])[0]
    data[first_strip + 100 : first_strip + 300] = bytes(200)  # page 2's LZW data, broken
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "scan.tif").write_bytes(bytes(data))
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "segment", str(tmp_path / "in"),
                             "--out", str(tmp_path / "out"), "--model", str(rule_model), "--quiet"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr  # libtiff's own lines are not shown
    assert "scan.tif: damaged TIFF: page 2 of 3 does not decode cleanly" in result.stderr
    names = [json.loads(x)["name"] for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert names == ["scan_p001", "scan_p003"]
