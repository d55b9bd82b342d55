"""One page through the stages: normalise -> tile -> infer -> regions -> page-resolution masks.

`segment_pages` takes any predictor with the `Segmenter` call signature (uint8 batch in,
labels and scores out) and an `info` (`ModelInfo`), so evaluation of a Keras checkpoint
runs the very same code as the ONNX runner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from .classes import INK_LEVEL
from .infer import ModelInfo
from .normalise import Normalised, normalise, page_ink, to_grey
from .read import Page
from .regions import Region, digit_strings, extract_regions
from .tile import cut, plan_tiles

Predictor = Callable[..., tuple[np.ndarray, np.ndarray]]  # (batch, release_memory=False)
BLANK_LEVEL = 60  # a tile whose brightest model input pixel is below this holds no ink
BATCH_PIXELS = 1_200_000
RELEASE_AFTER_PIXELS = 4 * BATCH_PIXELS  # inferred pixels after which the arena is handed back


@dataclass
class Options:
    """How pages are segmented (CLI options map 1:1 onto these)."""

    digit_height: float | None = None  # page pixels; None = estimate per page
    tile: int = 768                    # model-scale tile side
    whole_below: int = 1_600_000       # model-scale pages up to this many pixels: one window
    margin: int = 32                   # context kept around each tile's core
    batch_size: int = 32
    refine: bool = True                # cut region masks to the page's own ink
    ink_level: int = INK_LEVEL         # stroke pixels: this bright once paper is removed
    min_area: float = 0.04             # x digit_height**2


@dataclass
class PageResult:
    """Regions of one page in page coordinates, and its page-size class map if asked."""

    page: Page
    norm: Normalised
    regions: list[Region]
    lines: list[dict]
    mask: np.ndarray | None = None
    skipped_tiles: int = 0
    extra: dict = field(default_factory=dict)


def _infer_tiles(images: list[np.ndarray], predictor: Predictor, info: ModelInfo,
                 options: Options) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Label and score maps for each model-scale image, inferred tile by tile, batched
    across images by tile shape; blank tiles are not inferred."""
    labels = [np.full(im.shape, info.background_id, np.uint8) for im in images]
    scores = [np.ones(im.shape, np.float32) for im in images]
    groups: dict[tuple[int, int], list] = defaultdict(list)
    skipped = 0
    for index, image in enumerate(images):
        for tile in plan_tiles(*image.shape, options.tile, options.margin, info.stride,
                               options.whole_below):
            window = cut(image, tile)
            if window.max() < BLANK_LEVEL:
                skipped += 1
                continue
            groups[window.shape].append((index, tile, window))
    calls = []
    for shape, items in sorted(groups.items()):
        # at most batch_size tiles and about BATCH_PIXELS pixels per call: activation
        # memory grows with both, and large tiles are already efficient one at a time
        step = max(1, min(options.batch_size, BATCH_PIXELS // (shape[0] * shape[1])))
        calls += [items[start : start + step] for start in range(0, len(items), step)]
    # after many tiles, the last call hands the arena back so that region extraction on a
    # large page does not hold both; small pages keep it for the next chunk
    total = sum(w.size for chunk in calls for _, _, w in chunk)
    for n, chunk in enumerate(calls, 1):
        release = n == len(calls) and total > RELEASE_AFTER_PIXELS
        batch_labels, batch_scores = predictor(np.stack([w for _, _, w in chunk]),
                                               release_memory=release)
        for (index, tile, _), lab, sc in zip(chunk, batch_labels, batch_scores, strict=True):
            labels[index][tile.core] = lab[tile.core_in_tile]
            scores[index][tile.core] = sc[tile.core_in_tile]
    return labels, scores, skipped


def _to_page(region: Region, grey: np.ndarray, norm: Normalised, options: Options
             ) -> Region | None:
    """The region in page coordinates; its mask cut to the page's own ink when `options.refine`."""
    x, y, w, h = region.box
    s = norm.scale
    page_h, page_w = grey.shape
    x0, y0 = max(0, int(np.floor(x / s))), max(0, int(np.floor(y / s)))
    x1, y1 = min(page_w, int(np.ceil((x + w) / s))), min(page_h, int(np.ceil((y + h) / s)))
    if x1 <= x0 or y1 <= y0:
        return None
    mask = cv2.resize(region.mask.astype(np.uint8), (x1 - x0, y1 - y0),
                      interpolation=cv2.INTER_NEAREST).astype(bool)
    if options.refine:  # the page's ink within 1.5 model pixels of the model's mask, box included
        radius = max(1, int(round(1.5 / s)))
        gx0, gy0 = max(0, x0 - radius), max(0, y0 - radius)
        gx1, gy1 = min(page_w, x1 + radius), min(page_h, y1 + radius)
        grown = np.zeros((gy1 - gy0, gx1 - gx0), np.uint8)
        grown[y0 - gy0 : y1 - gy0, x0 - gx0 : x1 - gx0] = mask
        grown = cv2.dilate(grown, np.ones((2 * radius + 1,) * 2, np.uint8))
        window = (slice(gy0, gy1), slice(gx0, gx1))
        refined = page_ink(grey[window], norm, window, options.ink_level) & grown.astype(bool)
        if refined.sum() >= 0.05 * mask.sum():
            mask, x0, y0 = refined, gx0, gy0
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    bx0, by0, bx1, by1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return Region(region.digit, region.confidence,
                  (int(x0 + bx0), int(y0 + by0), int(bx1 - bx0), int(by1 - by0)),
                  mask[by0:by1, bx0:bx1], region.line, region.position)


def page_mask(shape: tuple[int, int], regions: list[Region], background: int) -> np.ndarray:
    """Page-size class-id map: each region's pixels painted with its class."""
    mask = np.full(shape, background, np.uint8)
    for r in regions:
        x, y, w, h = r.box
        mask[y : y + h, x : x + w][r.mask] = r.digit
    return mask


def segment_pages(pages: list[Page], predictor: Predictor, info: ModelInfo, options: Options,
                  want_mask: bool = False) -> list[PageResult]:
    """Segment a chunk of pages (tiles of all of them are batched together)."""
    greys = [to_grey(p.image) for p in pages]
    norms = [normalise(g, info.digit_height, options.digit_height) for g in greys]
    labels, scores, skipped = _infer_tiles([n.image for n in norms], predictor, info, options)
    results = []
    for page, grey, norm, lab, sc in zip(pages, greys, norms, labels, scores, strict=True):
        found = extract_regions(lab, sc, info.digit_height, info.background_id, options.min_area)
        regions = [r for r in (_to_page(f, grey, norm, options) for f in found) if r]
        mask = page_mask(grey.shape, regions, info.background_id) if want_mask else None
        results.append(PageResult(page, norm, regions, digit_strings(regions), mask, skipped))
    return results
