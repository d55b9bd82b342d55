"""The runtime installs and runs where TensorFlow does not exist."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

BLOCK = textwrap.dedent("""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "mlxtend"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)")
            return None
    sys.meta_path.insert(0, Block())
    sys.argv = ["fcn8-ocr"] + sys.argv[1:]
    from fcn8_ocr.cli import main
    try:
        main()
    finally:
        assert not any(m.split(".")[0] in ("tensorflow", "keras", "tf2onnx") for m in sys.modules)
""")


def run_blocked(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK, *args], capture_output=True, text=True,
                          timeout=120)


def test_help_segment_and_info_without_tensorflow(tmp_path, rule_model, document_set):
    assert run_blocked("--help").returncode == 0
    out = tmp_path / "out"
    result = run_blocked("segment", str(document_set / "images"), "--out", str(out),
                         "--model", str(rule_model), "-q")
    assert result.returncode == 0, result.stderr
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    info = run_blocked("info", str(rule_model), "--json")
    assert info.returncode == 0 and json.loads(info.stdout)["metadata"]["background_id"] == 10


def test_training_commands_say_how_to_install_the_extra(tmp_path):
    for args in (["train", "--out", str(tmp_path / "r")],
                 ["export", "--weights", __file__, "--out", str(tmp_path / "m.onnx")],
                 ["synth", "--kind", "m2nist", "--count", "1", "--out", str(tmp_path / "s")]):
        result = run_blocked(*args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'fcn8-ocr[train]'" in lines[0]
