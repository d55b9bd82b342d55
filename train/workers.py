"""Training fed by worker processes instead of tf.data, so that any Keras backend runs it:
JAX on a GPU machine that has no TensorFlow, with one process per core making tiles.

The tiles are `fit.train`'s own: batch b holds tiles b * batch_size ... of the run's seed,
made by `tiles.training_sample`. The workers are spawned (never forked from a process that
holds a GPU) and each loads the digits itself; at most `2 * workers` batches wait made.
A spawned process imports the main module again: this one imports Keras (and with it the
backend) only inside its functions, so that no worker loads JAX or touches the GPU.

    KERAS_BACKEND=jax python -m fcn8_ocr.train.workers CONFIG.json --out RUN --workers 15

runs the `config.json` of a run folder (its fields, `--out` and `--minutes` aside).
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from fcn8_ocr.config import TrainConfig

from .tiles import as_model_batch, run_digits, stack_samples, start_tile_worker, tile_batch, training_sample


def worker_batches(config: TrainConfig, workers: int, first_batch: int = 0
                   ) -> Iterator[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """Endless training batches in order, made by `workers` spawned processes."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, start_tile_worker, (config,)) as pool:
        waiting: collections.deque = collections.deque()
        batch = first_batch
        while True:
            while len(waiting) < 2 * workers:
                waiting.append(pool.apply_async(tile_batch, (config, batch * config.batch_size)))
                batch += 1
            yield as_model_batch(*waiting.popleft().get())


def validation_arrays(config: TrainConfig, val_digits) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """`fit.train`'s validation tiles (seed + 1, indices 0 ... val_tiles - 1) as arrays."""
    return stack_samples([training_sample(config.seed + 1, i, val_digits, config.tile,
                                          config.m2nist_fraction, config.field_fraction,
                                          config.row_fraction)
                          for i in range(config.val_tiles)])


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="a run's config.json (TrainConfig fields)")
    parser.add_argument("--out", required=True, help="the run folder")
    parser.add_argument("--workers", type=int, default=max(1, multiprocessing.cpu_count() - 1))
    parser.add_argument("--minutes", type=float, help="stop at the first epoch end after this")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    known = {f.name for f in fields(TrainConfig)}
    given = {k: v for k, v in json.loads(Path(args.config).read_text()).items() if k in known}
    config = replace(TrainConfig(**given), out=args.out)
    import keras

    print(f"keras {keras.__version__}, backend {keras.backend.backend()}, {args.workers} workers",
          flush=True)
    train_with_workers(config, args.workers, args.resume, minutes=args.minutes)


if __name__ == "__main__":
    main()
