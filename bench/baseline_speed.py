"""An A4 page end to end with an earlier commit's code and bundled model, beside this tree's.

    python bench/baseline_speed.py [--baseline 39f8299] [--pages 5] [--rounds 3]

A seconds target set on one machine says little on another: issue #16's A4 target
(<= 0.5 s) was set when `39f8299` (its runner and its bundled model) read a page in
0.474 s on the machine of that day. Here that commit's tree (from `git archive`) and this
one each time the same pages with their own `bench/run.py` `page_latencies` and their own
`fcn8_ocr.models.DEFAULT_MODEL`, in child processes that take turns, round by round, so a
slow minute hits both alike. It prints each tree's median seconds per page, the first time
a page is seen and again right after (`bench/page_speed.py`'s figure), and the median of
the paired ratios (this tree / baseline, again). `TMPDIR=/dev/shm` writes crops to RAM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from run import extract_commit, make_pages  # noqa: E402

# run in a tree's root: its package and bench/ come first on the path
CHILD = """
import json, sys
from pathlib import Path
sys.path[:0] = ['.', 'bench']
from run import page_latencies
from fcn8_ocr.infer import default_threads
from fcn8_ocr.models import DEFAULT_MODEL
first, again = page_latencies(str(DEFAULT_MODEL), Path(sys.argv[1]), Path(sys.argv[2]),
                              default_threads(1))
print(json.dumps({'model': str(DEFAULT_MODEL), 'first': first, 'again': again}))
"""


def time_tree(tree: Path, pages: Path, out: Path) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", CHILD, str(pages), str(out)], cwd=tree,
                            env=env, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{tree}: {result.stderr.strip().splitlines()[-1]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def summary(seconds: list[float]) -> str:
    return (f"median {statistics.median(seconds):.3f} s (min {min(seconds):.3f}, "
            f"max {max(seconds):.3f}, {len(seconds)} timings)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="39f8299", help="A commit, branch or tag.")
    parser.add_argument("--pages", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pages = make_pages(tmp / "a4", args.pages, (2480, 3508), (50.0, 110.0))
        trees = {"baseline": extract_commit(args.baseline, tmp / "baseline"), "now": ROOT}
        timings: dict[str, dict[str, list[float]]] = {n: {"first": [], "again": []} for n in trees}
        turns, models = list(trees.items()), {}
        for round_ in range(args.rounds):
            for name, tree in turns if round_ % 2 == 0 else turns[::-1]:
                measured = time_tree(tree, pages, tmp / f"out-{name}-{round_}")
                models[name] = measured["model"]
                for kind in ("first", "again"):
                    timings[name][kind] += measured[kind]
    for name in trees:
        label = args.baseline if name == "baseline" else "this tree"
        print(f"{name} ({label}, {Path(models[name]).name}): "
              f"first {summary(timings[name]['first'])}; "
              f"again {summary(timings[name]['again'])}")
    ratios = [now / base for base, now in zip(timings["baseline"]["again"],
                                              timings["now"]["again"], strict=True)]
    print(f"now / baseline, again, paired by page: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")


if __name__ == "__main__":
    main()
