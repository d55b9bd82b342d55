"""`--engine ray`: the same batch job as map_batches over a Ray Data dataset.

Each actor holds one `Worker` (the model is loaded once per actor) and runs the local
engine's own per-file step: same preprocessing, regions and writing. Actors write
crops/masks under --out (a shared filesystem on a cluster); the driver appends
results.jsonl and errors.jsonl as the local engine does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from .config import JobConfig
from .read import Source
from .worker import Outcome, Worker

RAY_HINT = "--engine ray needs Ray: pip install 'fcn8-ocr[ray]'"


class SegmentActor:
    """Ray actor: one worker, many files."""

    def __init__(self, config: JobConfig, threads: int, done: frozenset[str]) -> None:
        self.worker = Worker(config, threads)
        self.done = done

    def __call__(self, batch: dict) -> dict:
        outcomes = [self.worker.process(Source(Path(p), n), self.done).to_json()
                    for p, n in zip(batch["path"], batch["name"], strict=True)]
        return {"outcome": [json.dumps(o) for o in outcomes]}


def ray_outcomes(config: JobConfig, sources: list[Source], done: frozenset[str],
                 threads: int) -> Iterator[Outcome]:
    """One `Outcome` per input file, in completion order, computed by Ray actors
    (`config.num_actors` of them, `config.ray_batch_size` files per batch)."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(RAY_HINT) from exc
    if not sources:
        return
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=config.address,
                 num_cpus=None if config.address else max(config.num_actors, 1) * threads,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        items = [{"path": str(s.path), "name": s.name} for s in sources]
        dataset = ray.data.from_items(items, override_num_blocks=min(len(items), 64))
        results = dataset.map_batches(
            SegmentActor, fn_constructor_args=(config, threads, done),
            batch_size=config.ray_batch_size, concurrency=config.num_actors, num_cpus=threads,
            batch_format="numpy")
        for row in results.iter_rows():
            yield Outcome.from_json(json.loads(row["outcome"]))
    finally:
        if started_here:
            ray.shutdown()
