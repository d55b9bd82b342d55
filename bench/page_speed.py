"""End-to-end seconds per A4 page at 300 dpi for several models, side by side in one run.

    python bench/page_speed.py fcn8_ocr/models/default.onnx OTHER.onnx [--pages 5]

Each page goes through the worker's whole per-file step (decode, normalise, infer,
regions, crops written) with a warm session, as `bench/run.py` measures it for
docs/benchmarks.md; the figure is the median over pages of the run right after the
page's first. Models take turns, round by round, so a slower minute hits them alike.
It also prints what creating one file costs on the output's filesystem (an A4 page writes
~290 crops): on a root filesystem where that cost grew to over 1 ms, it moved the page's
time more than the network did (docs/benchmarks.md, ninth session). `TMPDIR=/dev/shm`
writes the pages and crops to RAM instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from run import make_pages, page_latencies  # noqa: E402

from fcn8_ocr.infer import default_threads  # noqa: E402
from fcn8_ocr.write import atomic_write  # noqa: E402


def file_creation_ms(folder: Path, count: int = 300) -> float:
    """Milliseconds to write one small file the way crops are written (`atomic_write`)."""
    folder.mkdir(parents=True)
    start = time.perf_counter()
    for n in range(count):
        atomic_write(folder / f"{n}.png", bytes(3000))
    return (time.perf_counter() - start) / count * 1000


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
        created = file_creation_ms(tmp / "file-creation")
    for model, seconds in times.items():
        print(f"{model}: median {statistics.median(seconds):.3f} s per A4 page "
              f"(min {min(seconds):.3f}, max {max(seconds):.3f}, {len(seconds)} timings)")
    print(f"creating a file in {tempfile.gettempdir()}: {created:.3f} ms (300 files of 3 kB)")
    base = statistics.median(times[args.models[0]])
    for model in args.models[1:]:
        print(f"{model} / {args.models[0]}: {statistics.median(times[model]) / base:.2f}x")


if __name__ == "__main__":
    main()
