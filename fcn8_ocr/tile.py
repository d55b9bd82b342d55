"""Overlapping tiles of a large image and seamless stitching (bounded memory).

Each tile is inferred with `margin` pixels of context on every inner side; only its
core is kept, so no seam shows where tiles meet.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class Tile:
    """Window [y0:y1, x0:x1] of the padded image and the core it is responsible for."""

    y0: int
    x0: int
    y1: int
    x1: int
    core: tuple[slice, slice]  # in image coordinates
    core_in_tile: tuple[slice, slice]


def padded_size(size: int, multiple: int) -> int:
    """`size` rounded up to a multiple of `multiple`."""
    return -(-size // multiple) * multiple


def _even_starts(length: int, count: int, tile: int, margin: int, multiple: int) -> list[int]:
    """Starts of `count` windows of the smallest common size (on the `multiple` grid) that
    cover `length` with overlaps of at least 2 x `margin`; [] when that size passes `tile`."""
    size = padded_size(-(-(length + 2 * margin * (count - 1)) // count), multiple)
    while size <= tile:  # starts rounded down to the grid can open a gap: widen the windows
        starts = [i * (length - size) // (count - 1) // multiple * multiple for i in range(count)]
        starts[-1] = length - size
        if all(b - a <= size - 2 * margin for a, b in pairwise(starts)):
            return starts
        size += multiple
    return []


def _spans(length: int, tile: int, margin: int, multiple: int) -> list[tuple[int, int, int, int]]:
    """Windows along one axis of padded `length`: (start, end, core start, core end).

    As few windows as `tile` allows, all of one size (a multiple of `multiple`, at most
    `tile`), spread evenly so that neighbours overlap by at least 2 x `margin` and not much
    more; their cores split each overlap in the middle, so every pixel has one owner with
    at least `margin` pixels of context on each inner side."""
    if length <= tile:
        return [(0, length, 0, length)]
    if tile - 2 * margin < multiple:
        raise ValueError(f"a {tile} px tile with {margin} px margins cannot move by {multiple} px")
    count = -(-(length - 2 * margin) // (tile - 2 * margin))
    while not (starts := _even_starts(length, count, tile, margin, multiple)):
        count += 1
    size = length - starts[-1]
    cuts = [0] + [(a + size + b) // 2 for a, b in pairwise(starts)] + [length]
    return [(start, start + size, cuts[i], cuts[i + 1]) for i, start in enumerate(starts)]


def plan_tiles(height: int, width: int, tile: int, margin: int, multiple: int = 32,
               whole_below: int = 0) -> list[Tile]:
    """Tiles covering a (height, width) image, each pixel in exactly one tile's core;
    windows may extend past it (zero padding), up to the next multiple of `multiple`. An
    image of at most `whole_below` padded pixels is one window: overlapping tiles would
    infer some pixels twice."""
    tile = padded_size(tile, multiple)
    ph, pw = padded_size(height, multiple), padded_size(width, multiple)
    if ph * pw <= whole_below:
        rows, cols = [(0, ph, 0, ph)], [(0, pw, 0, pw)]
    else:
        rows, cols = _spans(ph, tile, margin, multiple), _spans(pw, tile, margin, multiple)
    tiles = []
    for y0, y1, cy0, cy1 in rows:
        for x0, x1, cx0, cx1 in cols:
            cy1, cx1 = min(cy1, height), min(cx1, width)
            if cy1 <= cy0 or cx1 <= cx0:
                continue
            tiles.append(Tile(y0, x0, y1, x1, (slice(cy0, cy1), slice(cx0, cx1)),
                              (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))))
    return tiles


def cut(image: np.ndarray, tile: Tile) -> np.ndarray:
    """The tile's window of `image`, zero-padded where it passes the image's edge."""
    window = image[tile.y0 : tile.y1, tile.x0 : tile.x1]
    ph, pw = tile.y1 - tile.y0 - window.shape[0], tile.x1 - tile.x0 - window.shape[1]
    if ph or pw:
        window = np.pad(window, ((0, ph), (0, pw)))
    return window
