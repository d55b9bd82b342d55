"""The per-file step of a `segment` job and the worker that owns a model session.

A `Worker` holds one predictor and turns one input file into an `Outcome`: the page
records for results.jsonl (already written to disk with their crops), the confusion
matrix of each labelled page, and the input errors. The local engine, the process pool,
the Ray actors and the benchmark all run this same step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from .config import JobConfig
from .infer import load_predictor
from .metrics import confusion, scores
from .pipeline import segment_pages
from .read import InputError, Page, Source, find_labels, read_label_map, read_pages
from .write import write_page

CHUNK_PIXELS = 4_000_000  # page pixels gathered before one inference pass
CHUNK_PAGES = 64


@dataclass
class Outcome:
    """What one input file gave: page records (with their confusion matrices, None for an
    unlabelled page) and errors ({"source", "error"})."""

    records: list[dict] = field(default_factory=list)
    confusions: list[np.ndarray | None] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """A JSON-able form (for Ray); `from_json` reverses it."""
        return {"records": self.records, "errors": self.errors,
                "confusions": [None if m is None else m.tolist() for m in self.confusions]}

    @classmethod
    def from_json(cls, data: dict) -> Outcome:
        return cls(data["records"], [None if m is None else np.asarray(m, np.int64)
                                     for m in data["confusions"]], data["errors"])


class Worker:
    """One model session and the job's settings; `process` handles one input file."""

    def __init__(self, config: JobConfig, threads: int) -> None:
        self.config = config
        self.predictor = load_predictor(config.model, config.provider, threads)

    def process(self, source: Source, done: frozenset[str] = frozenset()) -> Outcome:
        """Read, segment and write every page of `source` not in `done`."""
        config = self.config
        outcome = Outcome()
        want_mask = config.save_masks or config.labels is not None
        chunk: list[Page] = []

        def flush() -> None:
            results = segment_pages(chunk, self.predictor, self.predictor.info, config.options,
                                    want_mask=want_mask or any(p.labels is not None for p in chunk))
            for result in results:
                record = write_page(config.out, result, config.pad, config.save_masks,
                                    config.save_overlay)
                matrix = None
                if result.page.labels is not None:
                    matrix = confusion(result.page.labels, result.mask)
                    record["metrics"] = {k: v for k, v in scores(matrix).items() if k != "classes"}
                outcome.records.append(record)
                outcome.confusions.append(matrix)
            chunk.clear()

        try:
            pixels = 0
            for page in self._pages_with_labels(source, outcome):
                if page.name in done:
                    continue
                chunk.append(page)
                pixels += page.image.shape[0] * page.image.shape[1]
                if pixels >= CHUNK_PIXELS or len(chunk) >= CHUNK_PAGES:
                    flush()
                    pixels = 0
            if chunk:
                flush()
        except InputError as exc:  # the pages read before it are still segmented
            if chunk:
                flush()
            outcome.errors.append({"source": exc.path, "error": exc.cause})
        except (cv2.error, MemoryError) as exc:  # an input the pipeline cannot handle
            cause = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            outcome.errors.append({"source": str(source.path), "error": f"cannot process ({cause})"})
        return outcome

    def _pages_with_labels(self, source: Source, outcome: Outcome) -> Iterator[Page]:
        """Pages of `source` with their label maps; a bad label file is an error of its own
        (naming both files) and the page is segmented without labels."""
        config = self.config
        for page in read_pages(source, config.dpi):
            if config.labels is not None and page.labels is None:
                path = find_labels(config.labels, page)
                if path is not None:
                    try:
                        page.labels = read_label_map(path, page.image.shape[:2])
                    except InputError as exc:
                        outcome.errors.append({"source": exc.path, "error": (
                            f"{exc.cause} (labels of {page.source}; the page is segmented unscored)")})
            yield page


class ProcessWorker:
    """The worker of a `multiprocessing` pool process: `start` is the pool's initializer,
    calling the instance (picklable, it carries only the resume set) processes one file."""

    current: Worker | None = None

    def __init__(self, done: frozenset[str]) -> None:
        self.done = done

    @classmethod
    def start(cls, config: JobConfig, threads: int) -> None:
        cls.current = Worker(config, threads)

    def __call__(self, source: Source) -> Outcome:
        assert ProcessWorker.current is not None, "ProcessWorker.start was not run in this process"
        return ProcessWorker.current.process(source, self.done)
