"""The batch job behind `fcn8-ocr segment`: inputs -> pages -> results under --out.

Pages go through the pipeline in chunks (small pages batched together), in input order,
in this process or in `workers` processes each holding its own onnxruntime session.
Bad inputs are recorded (stderr, errors.jsonl) and the batch goes on; `resume` skips
pages already complete in results.jsonl.
"""

from __future__ import annotations

import fcntl
import multiprocessing as mp
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .classes import CLASS_NAMES, NUM_CLASSES
from .config import JobConfig
from .infer import default_threads
from .metrics import scores
from .read import expand_inputs
from .report import write_metrics
from .worker import Outcome, ProcessWorker, Worker
from .write import TEMP_GLOB, append_jsonl, read_jsonl

LOCK_NAME = ".fcn8-ocr.lock"  # held (flock) by the run writing to an output folder


@dataclass
class Summary:
    pages: int = 0
    skipped: int = 0
    errors: int = 0
    regions: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    confusion: np.ndarray | None = None
    per_page: list[dict] = field(default_factory=list)
    metrics: dict | None = None


class OutputError(Exception):
    """--out cannot be written: not a folder, read-only, full, or busy with another run."""


def run_job(config: JobConfig) -> Summary:
    """Run the whole batch; returns what happened (see `Summary`).

    Raises OutputError (with a one-line cause) when --out cannot be written or another
    run holds it; what was written before stays complete, for `--resume`."""
    try:
        config.out.mkdir(parents=True, exist_ok=True)
        lock = open(config.out / LOCK_NAME, "a")  # noqa: SIM115 (held for the whole run)
    except OSError as exc:
        raise OutputError(f"{config.out}: cannot write here ({exc.strerror or exc})") from exc
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise OutputError(f"{config.out}: another fcn8-ocr run is writing here; wait for "
                              "it or choose another --out") from exc
        try:
            return _run_locked(config)
        except OSError as exc:
            raise OutputError(f"{config.out}: cannot write ({exc.strerror or exc}); what was "
                              "written is complete, --resume goes on from it") from exc


def _run_locked(config: JobConfig) -> Summary:
    start = time.perf_counter()
    results_path, errors_path = config.out / "results.jsonl", config.out / "errors.jsonl"
    summary = Summary(confusion=np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64))
    for stale in config.out.rglob(TEMP_GLOB):  # temporary files of a killed run
        stale.unlink(missing_ok=True)
    done: frozenset[str] = frozenset()
    if config.resume:
        done = frozenset(r["name"] for r in read_jsonl(results_path))
        summary.skipped = len(done)
    else:
        results_path.unlink(missing_ok=True)
    errors_path.unlink(missing_ok=True)  # failed inputs are tried again, resume or not
    # the labels and this run's own outputs are never pages
    sources, missing = expand_inputs(config.inputs, [p for p in (config.labels, config.out) if p])
    for error in missing:
        _record_error(errors_path, {"source": error.path, "error": error.cause}, config, summary)

    parallel = config.num_actors if config.engine == "ray" else config.workers
    threads = config.threads or default_threads(parallel)
    bar = tqdm(total=len(sources), unit="file", disable=config.quiet, file=sys.stderr,
               dynamic_ncols=True)
    pool = None
    outcomes: Iterator[Outcome]
    if config.engine == "ray":
        from .engine_ray import ray_outcomes

        outcomes = ray_outcomes(config, sources, done, threads)
    elif config.workers > 1:
        pool = mp.get_context("spawn").Pool(config.workers, ProcessWorker.start, (config, threads))
        outcomes = pool.imap(ProcessWorker(done), sources)
    else:
        worker = Worker(config, threads)
        outcomes = (worker.process(s, done) for s in sources)
    try:
        for outcome in outcomes:
            for error in outcome.errors:
                _record_error(errors_path, error, config, summary)
            for record, matrix in zip(outcome.records, outcome.confusions, strict=True):
                if matrix is not None:
                    summary.confusion += matrix
                    summary.per_page.append({"name": record["name"], **record["metrics"]})
                append_jsonl(results_path, record)
                summary.pages += 1
                summary.regions.update(r["class"] for r in record["regions"])
            elapsed = time.perf_counter() - start
            bar.set_postfix(pages=summary.pages, pages_s=f"{summary.pages / elapsed:.2f}",
                            errors=summary.errors, refresh=False)
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
    summary.seconds = time.perf_counter() - start
    if summary.per_page:
        summary.metrics = scores(summary.confusion)
        write_metrics(config.out, summary.confusion, summary.metrics, summary.per_page,
                      list(CLASS_NAMES))
    return summary


def _record_error(path: Path, error: dict, config: JobConfig, summary: Summary) -> None:
    summary.errors += 1
    line = f"error: {error['source']}: {error['error']}"
    print(line.replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)  # one line each
    append_jsonl(path, error)
