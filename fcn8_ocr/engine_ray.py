"""`--engine ray`: the same batch job as map_batches over a Ray Data dataset.

Each actor holds one onnxruntime session (the model is loaded once per actor) and runs
the local engine's own per-file code (`batch._process_source`): same preprocessing,
regions and writing. Actors write crops/masks under --out (a shared filesystem on a
cluster); the driver appends results.jsonl and errors.jsonl as the local engine does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .read import Source

if TYPE_CHECKING:
    from .batch import JobConfig

RAY_HINT = "--engine ray needs Ray: pip install 'fcn8-ocr[ray]'"


class SegmentActor:
    """Ray actor: one predictor, many files."""

    def __init__(self, config: JobConfig, threads: int, done: frozenset[str]) -> None:
        from .batch import _init_worker

        _init_worker(config, threads)
        self.done = done

    def __call__(self, batch: dict) -> dict:
        from pathlib import Path

        from .batch import _process_source

        records = [json.dumps(_process_source(Source(Path(p), n), self.done))
                   for p, n in zip(batch["path"], batch["name"], strict=True)]
        return {"records": records}


def ray_outputs(config: JobConfig, sources: list[Source], done: frozenset[str], threads: int,
                address: str | None, num_actors: int, batch_size: int) -> Iterator[list[dict]]:
    """Records per input file, in completion order, computed by Ray actors."""
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError(RAY_HINT) from exc
    if not sources:
        return
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=None if address else max(num_actors, 1) * threads,
                 include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        items = [{"path": str(s.path), "name": s.name} for s in sources]
        dataset = ray.data.from_items(items, override_num_blocks=min(len(items), 64))
        results = dataset.map_batches(
            SegmentActor, fn_constructor_args=(config, threads, done), batch_size=batch_size,
            concurrency=num_actors, num_cpus=threads, batch_format="numpy")
        for row in results.iter_rows():
            yield json.loads(row["records"])
    finally:
        if started_here:
            ray.shutdown()
