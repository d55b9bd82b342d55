"""bench/run.py --quick still works (figures are not judged here, only produced)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.mark.slow
def test_quick_benchmark_runs(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out",
                             str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads((tmp_path / "quick.json").read_text())
    assert set(figures["variants"]) == {"keras", "onnx_fp32", "onnx_int8", "onnx_fp32_lab_width"}
    for row in figures["variants"].values():
        assert row["a4"]["pages_per_s"] > 0 and row["m2nist"]["pages"] == 16
    compute = figures["compute"]
    assert compute["gflop_per_page"] > 0 and compute["onnx_fp32"]["network_fraction_of_peak"] > 0
    assert [r["peak_rss_mb"] > 0 for r in figures["memory"]] == [True, True]
    assert set(figures["workers"]) == {"1", "2"}
    # the report renders these figures, targets included
    sys.path.insert(0, str(ROOT / "bench"))
    from report import write_markdown

    write_markdown(figures, tmp_path / "benchmarks.md")
    text = (tmp_path / "benchmarks.md").read_text()
    assert "## Targets" in text and "Keras" in text and "peak RSS" in text


def test_a_full_benchmark_without_the_bundled_checkpoint_stops_instead_of_timing_a_stand_in(tmp_path):
    """A full run once timed an untrained tiny network when runs/default/best.keras was
    missing, and wrote its figures (digit IoU 0.003) into docs/benchmarks.md."""
    missing = tmp_path / "absent.keras"
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--out", str(tmp_path),
                             "--checkpoint", str(missing)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    assert f"{missing}: the bundled model's Keras checkpoint is needed" in result.stderr
    assert not (tmp_path / "full.json").exists()


def test_runner_ab_pairs_an_earlier_commit_with_the_working_tree(tmp_path):
    """bench/runner_ab.py imports the package of a commit beside the working tree's and
    times both on the same page (HEAD against the tree: a ratio, whatever its value)."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "runner_ab.py"), "--before", "HEAD",
                             "--pages", "1", "--rounds", "1"], capture_output=True, text=True,
                            timeout=600, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("before: median") and lines[1].startswith("now: median")
    assert "paired by page: median" in lines[2]


def test_arch_speed_times_the_bundled_file_at_each_model_digit_height():
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "arch_speed.py"),
                             "--no-variants", "--rounds", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split() for line in result.stdout.splitlines() if " px " in line]
    assert [row[0] for row in rows] == ["24", "20", "18", "16"]
    assert rows[0][4] == "1.00x" and all(float(row[2]) > 0 for row in rows)


def test_baseline_speed_times_a_commits_own_runner_and_model_beside_this_tree(tmp_path):
    """bench/baseline_speed.py runs a commit's tree (HEAD here: a ratio, whatever its value)
    and this one as child processes on the same pages."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode:
        pytest.skip("not a git checkout")
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "baseline_speed.py"),
                             "--baseline", "HEAD", "--pages", "1", "--rounds", "1"],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TMPDIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("baseline (HEAD, default.onnx): first median")
    assert lines[1].startswith("now (this tree, default.onnx): first median")
    assert "paired by page: median" in lines[2]
