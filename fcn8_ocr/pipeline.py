"""One page through the stages: normalise -> tile -> infer -> regions -> page-resolution masks.

`segment_pages` takes any predictor with the `OnnxModel` call signature (uint8 batch in,
the contract's output maps out) and an `info` (`ModelInfo`), so evaluation of a Keras checkpoint
runs the very same code as the ONNX runner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .config import Options
from .contract import CENTRES, LABELS, SCORES, SIZES, CentreRule, ModelInfo
from .normalise import Normalised, back_from_upright, normalise, page_ink, to_grey, upright
from .read import Page
from .regions import (
    Centre,
    Region,
    centre_peaks,
    centre_rows,
    cut_by_edge,
    digit_strings,
    drop_short_lines,
    extract_instances,
    extract_regions,
    main_line,
    merge_peaks,
    order_regions,
)
from .tile import Tile, cut, plan_tiles

Predictor = Callable[..., dict[str, np.ndarray]]  # (batch, release_memory=False) -> outputs
BLANK_LEVEL = 60  # a tile whose brightest model input pixel is below this holds no ink
BATCH_PIXELS = 1_200_000
RELEASE_AFTER_PIXELS = 4 * BATCH_PIXELS  # inferred pixels after which the arena is handed back
RESCALE_BAND = (0.8, 1.25)  # measured / model digit height outside this: scale the page again
NO_DIGIT_FALLBACKS = (0.5, 2.0, 0.25, 4.0)  # x the first guess, tried in turn while no digit is found
MAX_PASSES = 1 + len(NO_DIGIT_FALLBACKS)
# a fallback that would infer more model pixels than this and 4x the first pass is skipped:
# a digit-free A4 page is not inferred at 16x its pixels, small crops try every scale
FALLBACK_PIXELS = 4_000_000
# small pages' digits are also classed by the model's reading at these multiples of their
# digit height, and of the page sheared by these slants (px per row: a hand leaning right
# read upright) (Options.multi_scale_below)
VOTE_SCALES = (0.8, 0.9, 1.12, 1.25)
VOTE_SLANTS = (0.4, 0.8)
# a field crop holds its own line of digits and the edges of the rows around it; a small
# image with more rows of digit centres than this is a form, read as a page (`_is_crop`)
CROP_MAX_ROWS = 5


@dataclass
class PageResult:
    """Regions of one page in page coordinates, and its page-size class map if asked.

    `cut`: digits the page's edge cuts through, left out of `regions` (and so of crops
    and strings) but painted in the class map."""

    page: Page
    norm: Normalised
    regions: list[Region]
    lines: list[dict]
    background: int
    cut: list[Region] = field(default_factory=list)
    mask: np.ndarray | None = None

    def class_map(self) -> np.ndarray:
        """Page-size class-id map: every digit pixel found, cut digits included."""
        return page_mask(self.page.image.shape[:2], self.regions + self.cut, self.background)


@dataclass
class Inferred:
    """What the model gave for one model-scale image: its stitched class and score maps,
    and (models with centre heads) its digit centres. The centre and size maps are read
    tile by tile and never stitched: on a large page each would be a float per pixel."""

    maps: dict[str, np.ndarray]
    centres: list[Centre]


def _tile_peaks(outputs: dict[str, np.ndarray], k: int, tile: Tile, shape: tuple[int, int],
                info: ModelInfo, threshold: float) -> list[Centre]:
    """Centre peaks in one tile's core (page coordinates); its margin is their context and
    the padding past the page's edge holds none."""
    heat = outputs[CENTRES][k]
    inside = (shape[0] - tile.y0, shape[1] - tile.x0)
    if inside[0] < heat.shape[0] or inside[1] < heat.shape[1]:
        heat = heat.copy()
        heat[inside[0] :] = 0
        heat[:, inside[1] :] = 0
    return centre_peaks(heat, outputs[SIZES][k], info.digit_height, threshold, tile.core_in_tile,
                        (tile.y0, tile.x0), outputs[LABELS][k], info.background_id)


def _infer_tiles(images: list[np.ndarray], predictor: Predictor, info: ModelInfo,
                 options: Options) -> list[Inferred]:
    """The model's output for each model-scale image, inferred tile by tile, batched
    across images by tile shape; blank tiles are not inferred."""
    blank = {LABELS: (info.background_id, np.uint8), SCORES: (1.0, np.float32)}
    maps = [{name: np.full(im.shape, value, dtype) for name, (value, dtype) in blank.items()}
            for im in images]
    peaks: list[list[Centre]] = [[] for _ in images]
    groups: dict[tuple[int, int], list] = defaultdict(list)
    for index, image in enumerate(images):
        for tile in plan_tiles(*image.shape, options.tile, options.margin, info.stride,
                               options.whole_below):
            window = cut(image, tile)
            if window.max() < BLANK_LEVEL:
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
    rule = _centre_rule(info, options)
    for n, chunk in enumerate(calls, 1):
        release = n == len(calls) and total > RELEASE_AFTER_PIXELS
        outputs = predictor(np.stack([w for _, _, w in chunk]), release_memory=release)
        for k, (index, tile, _) in enumerate(chunk):
            for name, target in maps[index].items():
                target[tile.core] = outputs[name][k][tile.core_in_tile]
            if info.instances:
                peaks[index] += _tile_peaks(outputs, k, tile, images[index].shape, info,
                                            rule.threshold)
    return [Inferred(m, merge_peaks(p, rule) if info.instances else [])
            for m, p in zip(maps, peaks, strict=True)]


def _measured_height(centres: list[Centre], quantile: float) -> float | None:
    """The digit height a page is read at (model pixels): the heat-weighted `quantile` of
    the model's sizes at its digit centres, or None when it finds no digit. The model
    reads digits up to about twice its own height well and smaller ones less well, so on a
    page of mixed sizes a quantile under the median serves its small digits."""
    if not centres:
        return None
    sizes = np.array([c.size for c in centres])
    weights = np.array([c.heat for c in centres])
    order = np.argsort(sizes)
    cumulative = np.cumsum(weights[order])
    return float(sizes[order][np.searchsorted(cumulative, cumulative[-1] * quantile)])


def _is_crop(norm: Normalised, centres: list[Centre], options: Options) -> bool:
    """A field crop or strip: at most `options.multi_scale_below` pixels at model scale and
    at most CROP_MAX_ROWS rows of digit centres; anything else is a page (or a form)."""
    return (norm.image.size <= options.multi_scale_below
            and centre_rows(centres) <= CROP_MAX_ROWS)


def _centre_rule(info: ModelInfo, options: Options) -> CentreRule:
    """The model's centre rule, with the caller's threshold when one was given."""
    if options.centre_threshold is None:
        return info.centre_rule
    return replace(info.centre_rule, threshold=options.centre_threshold)


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
        if np.count_nonzero(refined) >= 0.05 * np.count_nonzero(mask):
            mask, x0, y0 = refined, gx0, gy0
    bx, by, bw, bh = cv2.boundingRect(mask.view(np.uint8))  # of its pixels; 0 x 0 if none
    if bw == 0:
        return None
    return Region(region.digit, region.confidence, (x0 + bx, y0 + by, bw, bh),
                  mask[by : by + bh, bx : bx + bw], region.line, region.position)


def page_mask(shape: tuple[int, int], regions: list[Region], background: int) -> np.ndarray:
    """Page-size class-id map: each region's pixels painted with its class."""
    mask = np.full(shape, background, np.uint8)
    for r in regions:
        x, y, w, h = r.box
        mask[y : y + h, x : x + w][r.mask] = r.digit
    return mask


def _next_height(seen: float | None, norm: Normalised, first: Normalised, passes: int,
                 info: ModelInfo) -> float | None:
    """The page digit height to try next, or None to keep this pass.

    The model's sizes correct a guess it can read; while it finds no digit, the first guess
    times each of NO_DIGIT_FALLBACKS is tried in turn (an ink estimate thrown by margins,
    rulings or bleed-through can be several times off), within FALLBACK_PIXELS."""
    if seen is not None:
        ratio = seen / info.digit_height
        inside = RESCALE_BAND[0] <= ratio <= RESCALE_BAND[1]
        return None if inside or passes > 1 else norm.digit_height * ratio
    budget = max(FALLBACK_PIXELS, 4 * first.image.size)
    fallbacks = [first.digit_height * f for f in NO_DIGIT_FALLBACKS
                 if first.image.size / f**2 <= budget]
    return fallbacks[passes - 1] if passes <= len(fallbacks) else None


def _rescale_by_model(greys: list[np.ndarray], norms: list[Normalised], inferred: list[Inferred],
                      predictor: Predictor, info: ModelInfo, options: Options) -> None:
    """Scale pages again where the model's own sizes disagree with the first guess (norms
    and inferred updated in place). Pages and forms are measured at `options.size_quantile`
    of their digit sizes, field crops and strips (`_is_crop`: their classes are voted over
    several scales) at the median."""
    first = list(norms)
    found = [False] * len(norms)
    for passes in range(1, MAX_PASSES):
        again = []
        for index, grey in enumerate(greys):
            if found[index] and passes > 1:
                continue
            crop = _is_crop(norms[index], inferred[index].centres, options)
            seen = _measured_height(inferred[index].centres,
                                    0.5 if crop else options.size_quantile)
            found[index] = seen is not None
            height = _next_height(seen, norms[index], first[index], passes, info)
            if height is not None:
                again.append((index, normalise(grey, info.digit_height, height)))
        if not again:
            break
        redone = _infer_tiles([n.image for _, n in again], predictor, info, options)
        for (index, norm), new in zip(again, redone, strict=True):
            norms[index], inferred[index] = norm, new


def _reading_regions(model_out: Inferred, info: ModelInfo, options: Options,
                     more_labels: list[np.ndarray]) -> list[Region]:
    """Regions of one model-scale reading (model coordinates); `more_labels` vote their
    classes too."""
    out = model_out.maps
    if info.instances:
        return extract_instances(out[LABELS], out[SCORES], model_out.centres, info.background_id,
                                 options.min_area, info.centre_rule.reach, more_labels)
    return extract_regions(out[LABELS], out[SCORES], info.digit_height, info.background_id,
                           options.min_area)


def _labels_of_other_readings(greys: list[np.ndarray], norms: list[Normalised],
                              predictor: Predictor, info: ModelInfo, options: Options
                              ) -> list[list[np.ndarray]]:
    """Per page, its class maps read at each of VOTE_SCALES times the page's digit height
    and upright at each of VOTE_SLANTS, laid onto its model-scale image (all pages batched
    together)."""
    images = [(i, 0.0, normalise(grey, info.digit_height, norm.digit_height * f).image)
              for i, (grey, norm) in enumerate(zip(greys, norms, strict=True)) for f in VOTE_SCALES]
    images += [(i, s, upright(norm.image, s)) for i, norm in enumerate(norms)
               for s in VOTE_SLANTS]
    inferred = _infer_tiles([im for *_, im in images], predictor, info, options) if images else []
    more: list[list[np.ndarray]] = [[] for _ in norms]
    for (i, slant, _), new in zip(images, inferred, strict=True):
        shape = norms[i].image.shape
        if slant:
            more[i].append(back_from_upright(new.maps[LABELS], slant, shape, info.background_id))
        else:
            more[i].append(cv2.resize(new.maps[LABELS], shape[::-1], interpolation=cv2.INTER_NEAREST))
    return more


def segment_pages(pages: list[Page], predictor: Predictor, info: ModelInfo, options: Options,
                  want_mask: bool = False) -> list[PageResult]:
    """Segment a chunk of pages (tiles of all of them are batched together).

    With a model that sizes digits (`info.instances`) and no `options.digit_height`, a
    page whose digits the model sees more than 25 % off its own digit height (the
    heat-weighted median of its sizes; on pages and forms, their `options.size_quantile`)
    is scaled again by what the model measured and inferred once more; a page where it finds no
    digit at all is tried at other multiples of the first guess (`_next_height`). On field
    crops and strips (`_is_crop`: at most `options.multi_scale_below` model pixels and
    CROP_MAX_ROWS rows of digits; a form is read as a page), each digit's class is then
    voted over its readings at VOTE_SCALES and VOTE_SLANTS as well
    (`_labels_of_other_readings`), and lines less than `options.min_line_height` times as
    tall as the tallest are dropped (`drop_short_lines`).
    """
    greys = [to_grey(p.image) for p in pages]
    norms = [normalise(g, info.digit_height, options.digit_height) for g in greys]
    inferred = _infer_tiles([n.image for n in norms], predictor, info, options)
    if info.instances and options.digit_height is None:
        _rescale_by_model(greys, norms, inferred, predictor, info, options)
    # small pages (field crops, strips): where the model found digits, their classes are
    # voted over other scales too; their short lines are dropped below
    is_small = [_is_crop(norm, model_out.centres, options)
                for norm, model_out in zip(norms, inferred, strict=True)]
    small = [i for i, model_out in enumerate(inferred) if model_out.centres and is_small[i]]
    more: list[list[np.ndarray]] = [[] for _ in pages]
    for i, labels in zip(small, _labels_of_other_readings([greys[i] for i in small],
                                                        [norms[i] for i in small], predictor,
                                                        info, options), strict=True):
        more[i] = labels
    results = []
    for page, grey, norm, model_out, extra, small_page in zip(pages, greys, norms, inferred,
                                                              more, is_small, strict=True):
        found = _reading_regions(model_out, info, options, extra)
        regions = [r for r in (_to_page(f, grey, norm, options) for f in found) if r]
        edge = [not options.keep_cut and cut_by_edge(r, grey.shape) for r in regions]
        cut = [r for r, e in zip(regions, edge, strict=True) if e]
        if cut:  # a line may have been chained through a cut digit: order the rest again
            regions = order_regions([r for r, e in zip(regions, edge, strict=True) if not e])
        if options.min_line_height and small_page:
            regions = drop_short_lines(regions, options.min_line_height)
        if options.one_line:
            regions = main_line(regions)
        result = PageResult(page, norm, regions, digit_strings(regions), info.background_id, cut)
        if want_mask:
            result.mask = result.class_map()
        results.append(result)
    return results
