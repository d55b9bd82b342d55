"""Average the weights of checkpoints of one network (a "model soup"):

    python -m fcn8_ocr.train.average ~/fcn8-runs/real-v16/last.keras \\
        ~/fcn8-runs/real-v20/last.keras --out ~/fcn8-runs/real-v20-soup

Checkpoints fine-tuned one from another sit in one basin of the loss, so the mean of their
weights is a model too, often with the strengths of both (Wortsman et al., 2022). Writes
`OUT/average.keras` and a `training.json` (the first checkpoint's, plus where the
weights came from) that `fcn8_ocr.export.bundle --run OUT --checkpoint average.keras`
reads.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import keras
import numpy as np

from . import model  # noqa: F401  (registers the custom initialiser the checkpoints name)

AVERAGE_NAME = "average.keras"


def average_checkpoints(paths: list[Path], out: Path, shares: list[float] | None = None) -> Path:
    """Write the `shares`-weighted mean (equal shares by default) of the checkpoints'
    weights to `out`/average.keras; ValueError if their layers' shapes differ."""
    if len(paths) < 2:
        raise ValueError("average: give at least two checkpoints")
    shares = shares or [1.0 / len(paths)] * len(paths)
    if len(shares) != len(paths) or not np.isclose(sum(shares), 1.0) or min(shares) < 0:
        raise ValueError(f"average: shares {shares} must be one per checkpoint, >= 0, sum 1")
    models = [keras.models.load_model(p, compile=False) for p in paths]
    weights = [m.get_weights() for m in models]
    shapes = [[w.shape for w in ws] for ws in weights]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError(f"average: {paths[0]} and the others are different networks")
    mean = [sum(share * w for share, w in zip(shares, layer, strict=True))
            for layer in zip(*weights, strict=True)]
    models[0].set_weights(mean)
    out.mkdir(parents=True, exist_ok=True)
    target = out / AVERAGE_NAME
    models[0].save(target)
    first = Path(paths[0]).with_name("training.json")
    training = json.loads(first.read_text()) if first.is_file() else {}
    training["averaged"] = [{"checkpoint": str(p), "share": s}
                            for p, s in zip(paths, shares, strict=True)]
    (out / "training.json").write_text(json.dumps(training, indent=2))
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, required=True, help="Folder for average.keras.")
    parser.add_argument("--shares", type=float, nargs="+", default=None,
                        help="One weight per checkpoint (default: equal).")
    args = parser.parse_args()
    print(average_checkpoints(args.checkpoints, args.out, args.shares))


if __name__ == "__main__":
    main()
