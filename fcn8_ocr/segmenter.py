"""The Python entry point: `Segmenter` finds every handwritten digit of a page.

>>> from fcn8_ocr import Segmenter
>>> seg = Segmenter()                                # the bundled model, CPU or CUDA
>>> page = seg("examples/pages/document_2024_00000.jpg")[0]
>>> digit = page.regions[0]                          # in reading order
>>> (digit.digit in range(10), 0 < digit.confidence <= 1, digit.line, digit.position)
(True, True, 1, 1)
>>> page.lines[0]["strings"] == page.strings[0]      # digit strings of line 1
True
>>> record = page.to_json()                          # the results.jsonl record
>>> record["regions"][0]["bbox"] == list(digit.box)
True

`seg(x)` takes a path (PNG, JPEG, TIFF, BMP, WebP, PDF, M2NIST .npy), an image array,
or a list of them, and returns one `Result` per page. Pages are checked as the CLI checks
files: a bad one raises `InputError` with a one-line reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import Options
from .infer import load_predictor
from .pipeline import PageResult, segment_pages
from .read import Page, Source, page_from_array, read_pages, safe_name
from .regions import Region
from .write import overlay, page_record, write_png, write_pngs

Input = str | Path | np.ndarray


class Result:
    """The digits of one page. `regions` are in reading order, boxes and masks in page
    pixels (a region's `mask` covers its `box`)."""

    def __init__(self, result: PageResult, pad: int) -> None:
        self._result = result
        self.pad = pad

    @property
    def page(self) -> Page:
        return self._result.page

    @property
    def regions(self) -> list[Region]:
        return self._result.regions

    @property
    def lines(self) -> list[dict]:
        """Per line: {"line", "text", "strings"}."""
        return self._result.lines

    @property
    def strings(self) -> list[list[str]]:
        """Per line, its digit strings (digits closer than about a digit height)."""
        return [line["strings"] for line in self.lines]

    @property
    def text(self) -> str:
        """Every digit string of the page, lines joined by newlines."""
        return "\n".join(line["text"] for line in self.lines)

    @cached_property
    def _record(self) -> tuple[dict, list[tuple[str, np.ndarray]]]:
        return page_record(self._result, self.pad)

    def mask(self) -> np.ndarray:
        """Page-size class-id map (0-9 digits, 10 background), as `--save-masks` writes it:
        digits cut by the page's edge included."""
        return self._result.class_map()

    def crops(self) -> list[np.ndarray]:
        """Each region's crop of the page (grown by `pad` pixels), in reading order."""
        return [pixels for _, pixels in self._record[1]]

    def to_json(self) -> dict:
        """The page's record, as `fcn8-ocr segment` writes it to results.jsonl."""
        return json.loads(json.dumps(self._record[0]))

    def save_crops(self, out: str | Path) -> list[Path]:
        """Write crops/<digit>/<page>_<n>.png under `out` (the CLI's layout); their paths."""
        crops = [(Path(out) / rel, pixels) for rel, pixels in self._record[1]]
        write_pngs(crops)
        return [path for path, _ in crops]

    def save_overlay(self, path: str | Path) -> Path:
        """Write the page with each digit tinted, boxed and labelled (PNG)."""
        write_png(Path(path), overlay(self.page.image, self._result))
        return Path(path)


class Segmenter:
    """An FCN-8 digit segmenter: `Segmenter(model)(image_or_path)` -> list of `Result`.

    `model`: an fcn8-ocr ONNX file (default: the bundled model); `provider`: "auto",
    "cpu" or "cuda"; `options`: any field of `Options` (e.g. `digit_height=40`);
    `pad`: pixels added around each crop.
    """

    def __init__(self, model: str | Path | None = None, provider: str = "auto", threads: int = 0,
                 pad: int = 4, **options: object) -> None:
        self.predictor = load_predictor(model, provider, threads)
        self.options = replace(Options(), **options)  # type: ignore[arg-type]
        self.pad = pad

    @property
    def info(self):
        """The model's contract (`contract.ModelInfo`): digit height, classes, outputs."""
        return self.predictor.info

    def __call__(self, source: Input | Iterable[Input]) -> list[Result]:
        pages = [page for item in _items(source) for page in _pages(item)]
        results = segment_pages(pages, self.predictor, self.predictor.info, self.options)
        return [Result(r, self.pad) for r in results]


def _items(source: Input | Iterable[Input]) -> list[Input]:
    if isinstance(source, str | Path | np.ndarray):
        return [source]
    return list(source)


def _pages(item: Input) -> list[Page]:
    if not isinstance(item, str | Path):
        return [page_from_array(item)]  # raises InputError for what is not an image array
    path = Path(item)
    return list(read_pages(Source(path, safe_name(path.name))))
