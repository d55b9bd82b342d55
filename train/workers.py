"""Training fed by worker processes instead of tf.data, so that any Keras backend runs it:
JAX on a GPU machine that has no TensorFlow, with one process per core making tiles.

The tiles are `fit.train`'s own: batch b holds tiles b * batch_size ... of the run's seed,
made by `tiles.training_sample`. The workers are spawned (never forked from a process that
holds a GPU) and each loads the digits itself; at most `2 * workers` batches wait made.
A spawned process imports the main module again (the `fcn8-ocr` script): neither it nor
this module imports Keras at module level, so that no worker loads JAX or takes the GPU.

    KERAS_BACKEND=jax python -m fcn8_ocr train --workers 15 --minutes 7 ...
"""

from __future__ import annotations

import collections
import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from fcn8_ocr.config import TrainConfig

from .tiles import as_model_batch, run_digits, run_samples, start_tile_worker, tile_batch


def worker_batches(config: TrainConfig, workers: int
                   ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Endless training batches in order, made by `workers` spawned processes."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, start_tile_worker, (config,)) as pool:
        waiting: collections.deque = collections.deque()
        batch = 0
        while True:
            while len(waiting) < 2 * workers:
                waiting.append(pool.apply_async(tile_batch, (config, batch * config.batch_size)))
                batch += 1
            yield as_model_batch(*waiting.popleft().get())


def validation_arrays(config: TrainConfig, val_digits) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """`fit.train`'s validation tiles (seed + 1, indices 0 ... val_tiles - 1) as arrays."""
    return as_model_batch(*run_samples(config, config.seed + 1, val_digits, range(config.val_tiles)))


def train_with_workers(config: TrainConfig, workers: int, resume: bool = False, verbose: int = 2,
                       minutes: float | None = None) -> Path:
    """`fit.train`'s recipe and tiles with batches from `workers` processes; returns the
    path of `best.keras`. With `minutes`, stops at the first epoch end after that long."""
    from .recipe import TimeLimit, fit_model, start_run

    if not config.centres or config.m2nist or config.folders or config.strategy != "default":
        raise ValueError("workers train the centre heads on synthetic tiles alone, one device")
    start_run(config, resume)
    digits, _, val_digits = run_digits(config)
    callbacks = [TimeLimit(minutes)] if minutes else []
    batches = worker_batches(config, workers)
    try:
        return fit_model(config, digits, val_digits, batches, validation_arrays(config, val_digits),
                         resume, verbose, callbacks)
    finally:
        batches.close()  # the pool ends here, not at interpreter exit
