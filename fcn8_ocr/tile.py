"""Overlapping tiles of a large image and seamless stitching (bounded memory).

Each tile is inferred with `margin` pixels of context on every inner side; only its
core is kept, so no seam shows where tiles meet.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _starts(length: int, tile: int, margin: int) -> list[int]:
    if length <= tile:
        return [0]
    step = tile - 2 * margin
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def plan_tiles(height: int, width: int, tile: int, margin: int, multiple: int = 32,
               whole_below: int = 0) -> list[Tile]:
    """Tiles covering a (height, width) image; windows may extend past it (zero padding),
    up to the next multiple of `multiple`. An image of at most `whole_below` padded pixels
    is one window: overlapping tiles would infer some pixels twice."""
    tile = padded_size(tile, multiple)
    ph, pw = padded_size(height, multiple), padded_size(width, multiple)
    if ph * pw <= whole_below:
        return [Tile(0, 0, ph, pw, (slice(0, height), slice(0, width)),
                     (slice(0, height), slice(0, width)))]
    th, tw = min(tile, ph), min(tile, pw)
    tiles = []
    for y0 in _starts(ph, th, margin):
        for x0 in _starts(pw, tw, margin):
            cy0 = 0 if y0 == 0 else y0 + margin
            cx0 = 0 if x0 == 0 else x0 + margin
            cy1 = height if y0 + th >= ph else min(height, y0 + th - margin)
            cx1 = width if x0 + tw >= pw else min(width, x0 + tw - margin)
            if cy1 <= cy0 or cx1 <= cx0:
                continue
            tiles.append(Tile(y0, x0, y0 + th, x0 + tw, (slice(cy0, cy1), slice(cx0, cx1)),
                              (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))))
    return tiles


def cut(image: np.ndarray, tile: Tile) -> np.ndarray:
    """The tile's window of `image`, zero-padded where it passes the image's edge."""
    window = image[tile.y0 : tile.y1, tile.x0 : tile.x1]
    ph, pw = tile.y1 - tile.y0 - window.shape[0], tile.x1 - tile.x0 - window.shape[1]
    if ph or pw:
        window = np.pad(window, ((0, ph), (0, pw)))
    return window
