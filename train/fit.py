"""Fit an FCN-8 on synthetic pages (and optionally M2NIST / labelled folders) fed by
tf.data, with TensorFlow's distribution strategies.

The recipe (`recipe.fit_model`): the losses of `losses`, Adam with cosine decay, early
stopping on the selection figure, a checkpoint every epoch, resumable
(`keras.callbacks.BackupAndRestore`), a CSV log and a PNG of the curves. `init_from`
starts from an exported ONNX model's (or a Keras checkpoint's) weights.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from fcn8_ocr.config import TrainConfig

from .data import folder_tiles, m2nist_arrays, synth_dataset
from .recipe import fit_model, start_run
from .tiles import run_digits

__all__ = ["TrainConfig", "train"]


def _strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _validation(config: TrainConfig, digits) -> tf.data.Dataset:
    tiles = list(synth_dataset(digits, config.seed + 1, config.val_tiles, config.tile,
                               config.m2nist_fraction, config.val_tiles, config.field_fraction,
                               config.centres, config.row_fraction,
                               config.digit_height).take(1))[0]
    return tf.data.Dataset.from_tensor_slices(tiles).batch(config.batch_size)


def _extra_training_data(config: TrainConfig) -> tf.data.Dataset | None:
    parts = []
    if config.m2nist:
        parts.append(m2nist_arrays(config.m2nist, config.digit_height))
    for folder in config.folders:
        parts.append(folder_tiles(folder, config.tile, config.seed,
                                  digit_height=config.digit_height))
    if not parts:
        return None
    datasets = [tf.data.Dataset.from_tensor_slices(p).shuffle(4096, seed=config.seed).repeat()
                .batch(config.batch_size) for p in parts]
    return datasets[0] if len(datasets) == 1 else tf.data.Dataset.sample_from_datasets(
        datasets, seed=config.seed)


def train(config: TrainConfig, resume: bool = False, verbose: int = 1,
          callbacks: list[keras.callbacks.Callback] | None = None) -> Path:
    """Run training; returns the path of the best Keras checkpoint (`best.keras`).

    `resume` continues an interrupted run from its last epoch backup, or a finished
    run (for more `epochs`) from `last.keras` with its optimizer state.
    """
    start_run(config, resume)
    digits, train_digits, val_digits = run_digits(config)
    data = synth_dataset(train_digits, config.seed, config.batch_size, config.tile,
                         config.m2nist_fraction, None, config.field_fraction, config.centres,
                         config.row_fraction, config.digit_height)
    extra = _extra_training_data(config)
    if extra is not None and config.centres:
        raise ValueError("--m2nist/--folder data has no digit centres: train it with --no-centres")
    if extra is not None:
        data = tf.data.Dataset.sample_from_datasets([data, extra], [0.7, 0.3], seed=config.seed)
    return fit_model(config, digits, val_digits, data, _validation(config, val_digits), resume,
                     verbose, callbacks, _strategy(config.strategy).scope())
