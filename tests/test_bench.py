"""bench/run.py --quick still works (figures are not judged here, only produced)."""

import json
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
    assert figures["compute"]["gflop_per_page"] > 0 and 0 < figures["compute"]["fraction_of_peak"] < 1
    assert [r["peak_rss_mb"] > 0 for r in figures["memory"]] == [True, True]
    assert set(figures["workers"]) == {"1", "2"}
