"""Digit regions from a label map: components, class vote, touching-digit split,
reading order (lines, position in line) and digit strings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .contract import DEFAULT_CENTRE_RULE, CentreRule


@dataclass
class Region:
    """One digit region. Box (x, y, w, h) and mask are in the coordinates of the map it
    was found in; `mask` covers the box."""

    digit: int
    confidence: float
    box: tuple[int, int, int, int]
    mask: np.ndarray
    line: int = 0
    position: int = 0

    @property
    def area(self) -> int:
        return int(self.mask.sum())


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


SPLIT_SHARE = 0.2  # a class holding this share of a component becomes a region of its own


def extract_regions(labels: np.ndarray, scores: np.ndarray, digit_height: float,
                    background: int, min_area_ratio: float = 0.04) -> list[Region]:
    """Digit regions of a label map whose digits are about `digit_height` px tall.

    Components of non-background pixels smaller than `min_area_ratio * digit_height**2` or
    shorter than a third of a digit are dropped. A component's class is the majority vote
    of its pixels; when several classes each hold at least 20 % of it (touching or
    overlapping digits of different classes), each becomes its own region, and every pixel
    of the component goes to the nearest of them.
    """
    foreground = (labels != background).astype(np.uint8)
    count, components, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    min_area = min_area_ratio * digit_height**2
    regions = []
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < min_area or h < digit_height / 3:
            continue
        window = (slice(y, y + h), slice(x, x + w))
        mask = components[window] == i
        classes = labels[window]
        votes = np.bincount(classes[mask], minlength=background)[:background]
        major = [int(c) for c in np.argsort(votes)[::-1] if votes[c] >= max(min_area, SPLIT_SHARE * area)]
        if len(major) <= 1:
            parts = [(int(np.argmax(votes)), mask)]
        else:
            # each pixel goes to the nearest pixel of a major class
            distances = [cv2.distanceTransform((~(mask & (classes == c))).astype(np.uint8),
                                               cv2.DIST_L2, 3) for c in major]
            nearest = np.argmin(distances, axis=0)
            parts = [(c, mask & (nearest == k)) for k, c in enumerate(major)]
        for digit, part in parts:
            share = votes[digit] / max(1, part.sum())
            conf = float(scores[window][part & (classes == digit)].mean()) * min(1.0, share)
            bx, by, bw, bh = _box(part)
            regions.append(Region(digit, round(conf, 4), (x + bx, y + by, bw, bh),
                                  part[by : by + bh, bx : bx + bw]))
    return order_regions(regions)


@dataclass(frozen=True)
class Centre:
    """A digit centre found by the model: position, digit height (model pixels), heat, and
    the class most of the digit pixels around it have (-1: none or not known)."""

    y: int
    x: int
    size: float
    heat: float
    digit: int = -1


def _class_around(labels: np.ndarray, y: int, x: int, radius: int, background: int) -> int:
    """The class most digit pixels within `radius` of (y, x) have; -1 when none is a digit."""
    near = labels[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
    near = near[near != background]
    return int(np.bincount(near).argmax()) if near.size else -1


def centre_peaks(heat: np.ndarray, sizes: np.ndarray, digit_height: float, threshold: float,
                 within: tuple[slice, slice] | None = None, offset: tuple[int, int] = (0, 0),
                 labels: np.ndarray | None = None, background: int = -1) -> list[Centre]:
    """Local maxima of the centre map at or above `threshold`, not yet merged: those inside
    `within` (rows, columns of the map; default all of it), at their map position plus
    `offset` (y, x). A tile's window gives its core's peaks with the margin as context.
    With `labels` (the class map), each peak carries the class around it."""
    k = max(3, int(digit_height * 0.3) | 1)
    peaks = (heat >= threshold) & (heat >= cv2.dilate(heat, np.ones((k, k), np.uint8)))
    rows, cols = within or (slice(0, heat.shape[0]), slice(0, heat.shape[1]))
    ys, xs = np.nonzero(peaks[rows, cols])
    ys, xs = ys + (rows.start or 0), xs + (cols.start or 0)
    radius = max(1, int(digit_height * 0.15))
    return [Centre(int(y) + offset[0], int(x) + offset[1], max(float(sizes[y, x]), 1.0),
                   float(heat[y, x]),
                   -1 if labels is None else _class_around(labels, y, x, radius, background))
            for y, x in zip(ys, xs, strict=True)]


def centre_rows(centres: Sequence[Centre]) -> int:
    """How many rows of digits the centres stand in: taken top to bottom, a centre more
    than half its digit height below the one before starts a new row."""
    rows, last = 0, None
    for y, size in sorted((c.y, c.size) for c in centres):
        if last is None or y - last > 0.5 * size:
            rows += 1
        last = y
    return rows


MERGE_BLOCK = 512  # peaks tested against all stronger ones at a time (bounds memory)


def merge_peaks(peaks: list[Centre], rule: CentreRule = DEFAULT_CENTRE_RULE) -> list[Centre]:
    """The digit centres among `peaks`, strongest first. A peak within `rule.same_digit`
    (across along `rule.slant`, down; in digit heights) of a stronger one is the same digit:
    digits are taller than wide, and neighbours stand side by side. Beside a peak of a
    narrow class (`rule.narrow`: a 1 is one stroke), across is `rule.narrow_across`; between
    peaks of two different classes side by side (`rule.other_class`: across, down), it is
    that across."""
    peaks = sorted(peaks, key=lambda c: (-c.heat, c.y, c.x))
    ys = np.array([c.y for c in peaks], np.float64)
    xs = np.array([c.x for c in peaks], np.float64)
    sizes = np.array([c.size for c in peaks], np.float64)
    digits = np.array([c.digit for c in peaks])
    narrow = np.isin(digits, rule.narrow)
    same_across = rule.same_digit[0]
    narrow_across = min(rule.narrow_across, same_across)
    other_across, side_by_side = min(rule.other_class[0], same_across), rule.other_class[1]
    # close[i]: the stronger peaks (indices < i) that peak i is the same digit as, were they kept
    close: list[list[int]] = []
    for start in range(0, len(peaks), MERGE_BLOCK):
        rows = slice(start, min(len(peaks), start + MERGE_BLOCK))
        stop = rows.stop
        dy_px = ys[None, :stop] - ys[rows, None]  # (weaker i, stronger j): offsets of j from i
        size = sizes[rows, None]
        di, dj = digits[rows, None], digits[None, :stop]
        other = (dj >= 0) & (di >= 0) & (dj != di) & (np.abs(dy_px) < side_by_side * size)
        across = np.where(other, other_across, same_across)
        across = np.where(narrow[None, :stop] | narrow[rows, None],
                          np.minimum(across, narrow_across), across)
        dx = (xs[None, :stop] - xs[rows, None] + rule.slant * dy_px) / (across * size)
        dy = dy_px / (rule.same_digit[1] * size)
        near = (dx * dx + dy * dy < 1) & (np.arange(stop)[None, :] < np.arange(start, stop)[:, None])
        weaker, stronger = np.nonzero(near)  # row-major: grouped by weaker peak
        bounds = np.searchsorted(weaker, np.arange(1, near.shape[0]))
        close += [part.tolist() for part in np.split(stronger, bounds)]
    keep: list[bool] = []
    for stronger in close:  # strongest first: a peak stays unless a kept one is close
        keep.append(not any(keep[j] for j in stronger))
    return [c for c, kept in zip(peaks, keep, strict=True) if kept]


def find_centres(heat: np.ndarray, sizes: np.ndarray, digit_height: float,
                 rule: CentreRule = DEFAULT_CENTRE_RULE, labels: np.ndarray | None = None,
                 background: int = -1) -> list[Centre]:
    """The digit centres of a whole centre map (`centre_peaks`, then `merge_peaks`)."""
    return merge_peaks(centre_peaks(heat, sizes, digit_height, rule.threshold,
                                    labels=labels, background=background), rule)


def extract_instances(labels: np.ndarray, scores: np.ndarray, centres: list[Centre],
                      background: int, min_area_ratio: float = 0.04,
                      reach: tuple[float, float] = DEFAULT_CENTRE_RULE.reach,
                      more_labels: Sequence[np.ndarray] = ()) -> list[Region]:
    """One region per digit centre found by the model (`find_centres`).

    Every digit pixel goes to the nearest centre within reach (distance measured in that
    centre's digit heights, `reach` across and down), so the fragments of a broken digit
    join and touching digits split; strokes with no centre near them (ruling lines,
    borders) are dropped. A region's class is the vote of its pixels: in `labels`, and in
    each of `more_labels` (the same image read at other scales, resized to this one), each
    map's share of the region's pixels per class counting once.
    """
    digit = labels != background
    best = np.full(labels.shape, np.inf, np.float32)
    owner = np.full(labels.shape, -1, np.int32)
    h, w = labels.shape
    for k, c in enumerate(centres):
        ry, rx = int(np.ceil(reach[1] * c.size)), int(np.ceil(reach[0] * c.size))
        y0, y1, x0, x1 = max(0, c.y - ry), min(h, c.y + ry + 1), max(0, c.x - rx), min(w, c.x + rx + 1)
        window = (slice(y0, y1), slice(x0, x1))
        dist = np.hypot((np.arange(x0 - c.x, x1 - c.x) / (reach[0] * c.size))[None, :],
                        (np.arange(y0 - c.y, y1 - c.y) / (reach[1] * c.size))[:, None])
        best_here, owner_here = best[window], owner[window]
        closer = (dist <= 1.0) & (dist < best_here) & digit[window]
        best_here[closer] = dist[closer]
        owner_here[closer] = k
    return order_regions(_owned_regions(owner, labels, scores, centres, background,
                                        min_area_ratio, more_labels))


def _owned_regions(owner: np.ndarray, labels: np.ndarray, scores: np.ndarray,
                   centres: list[Centre], background: int, min_area_ratio: float,
                   more_labels: Sequence[np.ndarray]) -> list[Region]:
    """A region for each centre that owns enough pixels (`owner`: the centre's index per
    pixel, -1 for none), its class voted and its confidence taken as `extract_instances`
    says; the counts of all centres at once (one bincount each, not a pass per digit)."""
    ys, xs = np.nonzero(owner >= 0)
    ids = owner[ys, xs]
    count, classes = len(centres), background + 1
    area = np.bincount(ids, minlength=count)
    sizes = np.array([c.size for c in centres], np.float64)
    present = np.flatnonzero(area)
    if not len(present):
        return []
    # boxes: each centre's pixels are one run once sorted by owner (row-major within it)
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate([[0], np.cumsum(area[present])[:-1]]).astype(np.intp)
    run_ys, run_xs = ys[order], xs[order]
    y0s, y1s = np.minimum.reduceat(run_ys, starts), np.maximum.reduceat(run_ys, starts)
    x0s, x1s = np.minimum.reduceat(run_xs, starts), np.maximum.reduceat(run_xs, starts)
    kept = area[present] >= min_area_ratio * sizes[present] ** 2
    index = present[kept]

    def shares_of(values: np.ndarray) -> np.ndarray:  # (kept, digit classes): share of pixels
        key = ids * classes + np.minimum(values, background)  # background: not counted
        votes = np.bincount(key, minlength=count * classes).reshape(count, classes)
        return votes[index, :background] / area[index, None]

    pixel_labels = labels[ys, xs]
    shares = shares_of(pixel_labels)
    for other in more_labels:
        shares = shares + shares_of(other[ys, xs])
    won = shares.argmax(axis=1)
    winner = np.full(count, -1, np.intp)
    winner[index] = won
    voting = pixel_labels == winner[ids]  # pixels of the class their region took
    voters = np.bincount(ids[voting], minlength=count)
    total = np.bincount(ids[voting], weights=scores[ys, xs][voting], minlength=count)
    regions = []
    for row, (k, y0, y1, x0, x1) in enumerate(zip(index, y0s[kept], y1s[kept], x0s[kept],
                                                  x1s[kept], strict=True)):
        cls, c = int(won[row]), centres[k]
        mean = total[k] / voters[k] if voters[k] else 0.0  # none: only other readings saw it
        share = shares[row, cls] / (1 + len(more_labels))
        conf = float(mean) * min(1.0, share) * min(1.0, c.heat / 0.5)
        mask = owner[y0 : y1 + 1, x0 : x1 + 1] == k
        regions.append(Region(cls, round(conf, 4), (int(x0), int(y0), int(x1 - x0 + 1),
                                                    int(y1 - y0 + 1)), mask))
    return regions


def cut_by_edge(region: Region, shape: tuple[int, int]) -> bool:
    """Whether the region's ink reaches the edge of a page of `shape` (h, w): a digit the
    crop or scan cut through (the next column's number in a field crop), which no
    recognizer can read whole."""
    x, y, w, h = region.box
    return x <= 0 or y <= 0 or x + w >= shape[1] or y + h >= shape[0]


def order_regions(regions: list[Region]) -> list[Region]:
    """Sort into reading order: lines top to bottom, left to right within a line.

    Lines are chained left to right: a region joins the line whose rightmost region
    overlaps it most vertically (at least half the smaller height; the later line on a
    tie), so slightly skewed lines stay whole.
    """
    lines: list[list[Region]] = []
    ends = np.zeros((len(regions), 2), np.int64)  # top, bottom of each line's rightmost region
    for region in sorted(regions, key=lambda r: (r.box[0], r.box[1])):
        top, bottom = region.box[1], region.box[1] + region.box[3]
        n = len(lines)
        if n:
            t, b = ends[:n, 0], ends[:n, 1]
            overlap = (np.maximum(0, np.minimum(bottom, b) - np.maximum(top, t))
                       / np.maximum(1, np.minimum(bottom - top, b - t)))
            k = n - 1 - int(np.argmax(overlap[::-1]))
            if overlap[k] >= 0.5:
                lines[k].append(region)
                ends[k] = top, bottom
                continue
        lines.append([region])
        ends[n] = top, bottom
    lines.sort(key=lambda line: (min(r.box[1] + r.box[3] / 2 for r in line), line[0].box[0]))
    ordered = []
    for n, line in enumerate(lines, 1):
        for k, region in enumerate(line, 1):
            region.line, region.position = n, k
            ordered.append(region)
    return ordered


def main_line(regions: list[Region]) -> list[Region]:
    """The regions of the line that weighs most (sum of digit height x confidence), in
    reading order: a field crop's own number, without the marks and words of the rows and
    columns around it that the crop also caught."""
    if not regions:
        return []
    lines = sorted({r.line for r in regions})
    weight = {n: sum(r.box[3] * r.confidence for r in regions if r.line == n) for n in lines}
    best = max(lines, key=lambda n: (weight[n], -n))
    return order_regions([r for r in regions if r.line == best])


def drop_short_lines(regions: list[Region], ratio: float) -> list[Region]:
    """The regions of the lines whose median digit height is at least `ratio` times the
    tallest line's, in reading order: on a field crop, the printed numbers and the smaller
    writing of the rows around the number go. The regions given are left as they were."""
    heights: dict[int, list[int]] = {}
    for r in regions:
        heights.setdefault(r.line, []).append(r.box[3])
    median = {line: float(np.median(h)) for line, h in heights.items()}
    tallest = max(median.values(), default=0.0)
    kept = [r for r in regions if median[r.line] >= ratio * tallest]
    return kept if len(kept) == len(regions) else order_regions([replace(r) for r in kept])


def digit_strings(regions: list[Region], gap_ratio: float = 0.8) -> list[dict]:
    """Per line, the digit strings in reading order: neighbours closer than `gap_ratio`
    times their height belong to one string."""
    out = []
    for line_no in sorted({r.line for r in regions}):
        line = [r for r in regions if r.line == line_no]
        strings, current = [], [line[0]]
        for prev, region in zip(line, line[1:], strict=False):
            gap = region.box[0] - (prev.box[0] + prev.box[2])
            if gap > gap_ratio * max(prev.box[3], region.box[3]):
                strings.append(current)
                current = []
            current.append(region)
        strings.append(current)
        texts = ["".join(str(r.digit) for r in s) for s in strings]
        out.append({"line": line_no, "text": " ".join(texts), "strings": texts})
    return out
