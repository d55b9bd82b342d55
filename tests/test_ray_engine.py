"""`--engine ray` on a local Ray instance gives the local engine's results."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fcn8_ocr.batch import run_job
from fcn8_ocr.config import JobConfig

ray = pytest.importorskip("ray")


def _sorted_records(out: Path) -> list[dict]:
    return sorted((json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()),
                  key=lambda r: r["name"])


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (out / "crops").rglob("*.png")}


@pytest.mark.slow
def test_ray_matches_local_and_records_bad_inputs(tmp_path, document_set, rule_model):
    inputs = tmp_path / "in"
    shutil.copytree(document_set / "images", inputs)
    (inputs / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    local, distributed = tmp_path / "local", tmp_path / "ray"
    run_job(JobConfig(inputs=[str(inputs)], out=local, model=str(rule_model), provider="cpu",
                      quiet=True))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_job(JobConfig(inputs=[str(inputs)], out=distributed, model=str(rule_model),
                                    provider="cpu", quiet=True,
                                    engine="ray", num_actors=2, ray_batch_size=1))
    finally:
        ray.shutdown()
    assert summary.pages == 3 and summary.errors == 1
    assert _sorted_records(local) == _sorted_records(distributed)
    assert _files(local) == _files(distributed)
    errors = [json.loads(x) for x in (distributed / "errors.jsonl").read_text().splitlines()]
    assert [Path(e["source"]).name for e in errors] == ["corrupt.png"]


def test_engine_ray_without_ray_says_how_to_install(tmp_path, rule_model, document_set):
    block = ("import sys\n"
             "class B:\n"
             "    def find_spec(self, n, p=None, t=None):\n"
             "        if n.split('.')[0] == 'ray': raise ModuleNotFoundError(n)\n"
             "sys.meta_path.insert(0, B())\n"
             "sys.argv = ['fcn8-ocr'] + sys.argv[1:]\n"
             "from fcn8_ocr.cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", block, "segment", str(document_set / "images"),
                             "--out", str(tmp_path / "o"), "--model", str(rule_model),
                             "--engine", "ray"], capture_output=True, text=True)
    assert result.returncode == 2 and "pip install 'fcn8-ocr[ray]'" in result.stderr
