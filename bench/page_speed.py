"""End-to-end seconds per A4 page at 300 dpi for several models, side by side in one run.

    python bench/page_speed.py fcn8_ocr/models/default.onnx OTHER.onnx [--pages 5]

Each page goes through the worker's whole per-file step (decode, normalise, infer,
regions, crops written) with a warm session, as `bench/run.py` measures it for
docs/benchmarks.md; the figure is the median over pages of the run right after the
page's first. Models take turns, round by round, so a slower minute hits them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from run import make_pages, page_latencies  # noqa: E402

from fcn8_ocr.infer import default_threads  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2, help="Rounds over all models.")
    args = parser.parse_args()
    threads = default_threads(1)
    times: dict[str, list[float]] = {m: [] for m in args.models}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pages = make_pages(tmp / "a4", args.pages, (2480, 3508), (50.0, 110.0))
        for round_ in range(args.rounds):  # models take turns, so a slow minute hits all
            for model in args.models:
                _, again = page_latencies(model, pages, tmp / f"out-{round_}-{Path(model).stem}",
                                          threads)
                times[model] += again
    for model, seconds in times.items():
        print(f"{model}: median {statistics.median(seconds):.3f} s per A4 page "
              f"(min {min(seconds):.3f}, max {max(seconds):.3f}, {len(seconds)} timings)")
    base = statistics.median(times[args.models[0]])
    for model in args.models[1:]:
        print(f"{model} / {args.models[0]}: {statistics.median(times[model]) / base:.2f}x")


if __name__ == "__main__":
    main()
