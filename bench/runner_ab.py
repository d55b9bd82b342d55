"""The runner of an earlier commit against this one, paired page by page in one process.

    python bench/runner_ab.py --before 2f3c52a [--pages 5] [--rounds 4]

On a noisy machine two runs of `bench/page_speed.py` a minute apart can differ by 20 %,
more than most runner changes. Here the package as it was at `--before` (from `git
archive`, imported under another name) and the working tree's each hold a warm worker
on the same model; every page goes through both, in turns that swap each round, so a
slow second hits both alike. It prints each one's median seconds per A4 page and the
median of the paired ratios (now / before). `TMPDIR=/dev/shm` writes the crops to RAM.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from run import extract_commit, make_pages  # noqa: E402

BEFORE_PACKAGE = "fcn8_ocr_before"


def import_before(ref: str, folder: Path):
    """`fcn8_ocr` as committed at `ref`, importable as BEFORE_PACKAGE (its imports within
    the package are relative); returns its worker, config and read modules."""
    (extract_commit(ref, folder, "fcn8_ocr") / "fcn8_ocr").rename(folder / BEFORE_PACKAGE)
    sys.path.insert(0, str(folder))
    return tuple(importlib.import_module(f"{BEFORE_PACKAGE}.{name}")
                 for name in ("worker", "config", "read"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True, help="A commit, branch or tag.")
    parser.add_argument("--model", default=str(ROOT / "fcn8_ocr" / "models" / "default.onnx"))
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores.")
    args = parser.parse_args()
    from fcn8_ocr import config, read, worker
    from fcn8_ocr.infer import default_threads

    threads = args.threads or default_threads(1)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pages = make_pages(tmp / "a4", args.pages, (2480, 3508), (50.0, 110.0))
        runners = {}
        for name, (w, c, r) in (("before", import_before(args.before, tmp / "code")),
                                ("now", (worker, config, read))):
            job = c.JobConfig(inputs=[str(pages)], out=tmp / name, model=args.model,
                              provider="cpu", threads=threads, pad=4, quiet=True)
            runners[name] = (w.Worker(job, threads), r.Source)
        files = sorted((pages / "images").iterdir())
        for runner, source in runners.values():
            runner.process(source(files[0], "warm-up"))
        seconds: dict[str, list[float]] = {name: [] for name in runners}
        for round_ in range(args.rounds):
            turns = list(runners.items())
            for path in files:
                for name, (runner, source) in turns if round_ % 2 == 0 else turns[::-1]:
                    start = time.perf_counter()
                    runner.process(source(path, f"{path.stem}-{round_}"))
                    seconds[name].append(time.perf_counter() - start)
    for name, values in seconds.items():
        print(f"{name}: median {statistics.median(values):.3f} s per A4 page "
              f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} timings)")
    ratios = [now / before for before, now in zip(seconds["before"], seconds["now"], strict=True)]
    spread = ""
    if len(ratios) > 1:
        low, _, high = statistics.quantiles(ratios, n=4)
        spread = f" (quartiles {low:.3f}-{high:.3f})"
    print(f"now / before ({args.before}), paired by page: median {statistics.median(ratios):.3f}"
          f"{spread}")


if __name__ == "__main__":
    main()
