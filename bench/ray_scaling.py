"""Throughput of `segment` with the local engine and with Ray (1 and 2 actors), one run.

    python bench/ray_scaling.py [--pages 8]

Writes bench/results/ray.json and prints a Markdown table (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from fcn8_ocr.batch import run_job
from fcn8_ocr.config import JobConfig

ROOT = Path(__file__).resolve().parents[1]


def timed(config: JobConfig) -> float:
    start = time.perf_counter()
    summary = run_job(config)
    return summary.pages / (time.perf_counter() - start)


def main() -> None:
    import ray
    from fcn8_ocr.train.synthesize import write_synthetic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=8)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        pages = write_synthetic("document", args.pages, tmp / "pages", seed=3, size=(2480, 3508),
                                digit_height=(50.0, 110.0)) / "images"
        rows["local, 1 process"] = timed(JobConfig(inputs=[str(pages)], out=tmp / "local", quiet=True))
        rows["local, 2 workers"] = timed(JobConfig(inputs=[str(pages)], out=tmp / "local2", workers=2,
                                                         quiet=True))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            for actors in (1, 2):
                rows[f"ray, {actors} actor(s)"] = timed(JobConfig(
                    inputs=[str(pages)], out=tmp / f"ray{actors}", quiet=True, engine="ray",
                    num_actors=actors, ray_batch_size=1))
        finally:
            ray.shutdown()
    base = rows["local, 1 process"]
    print("| engine | pages/s | vs local |\n|---|---|---|")
    for name, rate in rows.items():
        print(f"| {name} | {rate:.2f} | {rate / base:.2f}x |")
    out = ROOT / "bench" / "results" / "ray.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pages": args.pages, "pages_per_s": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
