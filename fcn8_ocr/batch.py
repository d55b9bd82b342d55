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

import cv2
import numpy as np
from tqdm import tqdm

from .classes import CLASS_NAMES, NUM_CLASSES
from .infer import default_threads, load_predictor
from .metrics import confusion, scores
from .pipeline import Options, segment_pages
from .read import InputError, Page, Source, expand_inputs, find_labels, read_label_map, read_pages
from .write import TEMP_GLOB, append_jsonl, read_jsonl, write_metrics, write_page

CHUNK_PIXELS = 4_000_000  # page pixels gathered before one inference pass
LOCK_NAME = ".fcn8-ocr.lock"  # held (flock) by the run writing to an output folder


@dataclass
class JobConfig:
    """Everything `fcn8-ocr segment` was asked to do."""

    inputs: list[str]
    out: Path
    model: str | None = None
    provider: str = "auto"
    threads: int = 0
    workers: int = 1
    options: Options = field(default_factory=Options)
    labels: Path | None = None
    pad: int = 4
    dpi: float = 300.0
    save_masks: bool = False
    save_overlay: bool = False
    resume: bool = False
    quiet: bool = False
    engine: str = "local"
    address: str | None = None  # Ray head address (engine "ray"); None starts a local Ray
    num_actors: int = 1
    ray_batch_size: int = 4


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


def _pages_with_labels(source: Source, config: JobConfig, out: list[dict]) -> Iterator[Page]:
    """Pages of `source` with their label maps; a bad label file is an error of its own
    (appended to `out`, naming both files) and the page is segmented without labels."""
    for page in read_pages(source, config.dpi):
        if config.labels is not None and page.labels is None:
            path = find_labels(config.labels, page)
            if path is not None:
                try:
                    page.labels = read_label_map(path, page.image.shape[:2])
                except InputError as exc:
                    out.append({"_error": {"source": exc.path, "error": f"{exc.cause} (labels "
                                           f"of {page.source}; the page is segmented unscored)"}})
        yield page


_worker: dict = {}


def _init_worker(config: JobConfig, threads: int) -> None:
    _worker["config"] = config
    _worker["predictor"] = load_predictor(config.model, config.provider, threads)


def _process_source(source: Source, done: frozenset[str] = frozenset()) -> list[dict]:
    """Read, segment and write every page of one source; returns records and errors."""
    config: JobConfig = _worker["config"]
    predictor = _worker["predictor"]
    want_mask = config.save_masks or config.labels is not None
    out: list[dict] = []
    try:
        chunk: list[Page] = []

        def flush() -> None:
            results = segment_pages(chunk, predictor, predictor.info, config.options,
                                    want_mask=want_mask or any(p.labels is not None for p in chunk))
            for result in results:
                record = write_page(config.out, result, config.pad, config.save_masks,
                                    config.save_overlay)
                if result.page.labels is not None:
                    matrix = confusion(result.page.labels, result.mask)
                    record["metrics"] = {k: v for k, v in scores(matrix).items() if k != "classes"}
                    record["_confusion"] = matrix.tolist()
                out.append(record)
            chunk.clear()

        pixels = 0
        for page in _pages_with_labels(source, config, out):
            if page.name in done:
                continue
            chunk.append(page)
            pixels += page.image.shape[0] * page.image.shape[1]
            if pixels >= CHUNK_PIXELS or len(chunk) >= 64:
                flush()
                pixels = 0
        if chunk:
            flush()
    except InputError as exc:
        out.append({"_error": {"source": exc.path, "error": exc.cause}})
    except (cv2.error, ValueError, MemoryError) as exc:  # an input the pipeline cannot handle
        cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        out.append({"_error": {"source": str(source.path), "error": f"cannot process ({cause})"}})
    return out


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
    if config.engine == "ray":
        from .engine_ray import ray_outputs

        outputs = ray_outputs(config, sources, done, threads, config.address, config.num_actors,
                              config.ray_batch_size)
    elif config.workers > 1:
        pool = mp.get_context("spawn").Pool(config.workers, _init_worker, (config, threads))
        outputs = pool.imap(_ProcessWithDone(done), sources)
    else:
        _init_worker(config, threads)
        outputs = (_process_source(s, done) for s in sources)
    try:
        for records in outputs:
            for record in records:
                if "_error" in record:
                    _record_error(errors_path, record["_error"], config, summary)
                    continue
                matrix = record.pop("_confusion", None)
                if matrix is not None:
                    summary.confusion += np.asarray(matrix, np.int64)
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


class _ProcessWithDone:
    """Picklable callable for pool.imap carrying the resume set."""

    def __init__(self, done: frozenset[str]) -> None:
        self.done = done

    def __call__(self, source: Source) -> list[dict]:
        return _process_source(source, self.done)


def _record_error(path: Path, error: dict, config: JobConfig, summary: Summary) -> None:
    summary.errors += 1
    line = f"error: {error['source']}: {error['error']}"
    print(line.replace("\r", "\\r").replace("\n", "\\n"), file=sys.stderr)  # one line each
    append_jsonl(path, error)
