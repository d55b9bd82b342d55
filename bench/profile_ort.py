"""Where inference time goes: onnxruntime's profiler, summed per operator type.

    python bench/profile_ort.py [MODEL.onnx] [--height 1056 --width 768]

The default input is one A4 page at 300 dpi brought to model scale (digits 24 px).
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from fcn8_ocr.models import DEFAULT_MODEL


def profile(model: str, height: int, width: int, runs: int = 4) -> dict[str, float]:
    options = ort.SessionOptions()
    options.enable_profiling = True
    options.profile_file_prefix = "/tmp/fcn8_ort_profile"
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).integers(0, 255, (1, height, width, 1), dtype=np.uint8)
    session.run(None, {"image": image})
    for _ in range(runs):
        session.run(None, {"image": image})
    path = Path(session.end_profiling())
    events = json.loads(path.read_text())
    path.unlink()
    per_op: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
    # the first (warm-up) run is in the profile too
    return {op: us / (runs + 1) / 1000 for op, us in per_op.most_common()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(DEFAULT_MODEL))
    parser.add_argument("--height", type=int, default=1056)
    parser.add_argument("--width", type=int, default=768)
    args = parser.parse_args()
    ms = profile(args.model, args.height, args.width)
    total = sum(ms.values())
    print(f"{args.model}: {total:.0f} ms per {args.width}x{args.height} input")
    for op, t in list(ms.items())[:10]:
        print(f"  {op:<20} {t:7.1f} ms {100 * t / total:5.1f} %")


if __name__ == "__main__":
    main()
