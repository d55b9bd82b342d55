"""The real sets in ../shared/data (evaluation only; MNIST also for training), read by path.

A fresh clone has no ../shared: these tests skip, saying so. CI has it.
"""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from fcn8_ocr.cli import main

SHARED = Path(os.environ.get("FCN8_OCR_SHARED_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared(name: str) -> Path:
    path = SHARED / name
    if not path.exists():
        pytest.skip(f"{path} is absent (real data lives in ../shared/data, not in the project)")
    return path


def test_evaluate_prints_string_count_and_cer_on_real_register_numbers(tmp_path):
    data = shared("mgr-rowid-val")
    result = CliRunner().invoke(main, ["evaluate", "--data", str(data), "--model",
                                       "fcn8_ocr/models/default.onnx", "--limit", "40"])
    assert result.exit_code == 0, result.output
    for measure in ("string_accuracy", "count_accuracy", "cer", "non-digit labels"):
        assert measure in result.output


def test_full_mnist_training_set_reads_as_it_is():
    from fcn8_ocr.train.sources import load_mnist, split_digits

    digits = load_mnist(shared("mnist-train"))
    assert digits.images.shape == (60000, 28, 28) and len(set(digits.labels.tolist())) == 10
    assert len(split_digits(digits, "train")) == 48000
