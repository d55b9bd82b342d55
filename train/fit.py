"""Fit an FCN-8 on synthetic pages (and optionally M2NIST / labelled folders).

Weighted cross-entropy plus a soft Dice term over the digit classes; with the centre
heads, CenterNet's focal loss on the centre heat map and an L1 loss on log2 digit size at
the centres. Adam with cosine decay, early stopping on validation mean digit IoU, a
checkpoint every epoch, resumable (`keras.callbacks.BackupAndRestore`), a CSV log and a
PNG of the curves. `init_from` starts from an exported ONNX model's weights.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fcn8_ocr.classes import BACKGROUND, IGNORE, NUM_CLASSES
from fcn8_ocr.config import TrainConfig

from .data import (
    MODEL_DIGIT_HEIGHT,
    folder_tiles,
    m2nist_arrays,
    synth_dataset,
)
from .model import build_fcn8
from .pen import european_forms, reproportioned
from .selection import LOG_KEY as FIELD_STRINGS
from .selection import FieldStrings
from .sources import SPLIT_SEED, load_digits, split_digits
from .warm_start import load_onnx_weights

BACKGROUND_WEIGHT = 0.2
__all__ = ["TrainConfig", "train"]

CONTESTED_RADIUS = 4  # model pixels: a digit pixel this close to another digit is contested


def _max_pool(image: tf.Tensor) -> tf.Tensor:
    """Maximum over a square of side 2 * CONTESTED_RADIUS + 1 (separable: rows, then columns)."""
    side = 2 * CONTESTED_RADIUS + 1
    return tf.nn.max_pool2d(tf.nn.max_pool2d(image, (1, side), 1, "SAME"), (side, 1), 1, "SAME")


def contested_pixels(labels: tf.Tensor) -> tf.Tensor:
    """1.0 where a digit pixel lies within CONTESTED_RADIUS of a different digit (touching or
    overlapping digits, where the network must tell strokes apart), else 0.0.

    A digit pixel is contested when the highest and lowest digit ids around it differ.
    """
    digit = (labels < BACKGROUND)[..., None]
    ids = tf.cast(labels, tf.float32)[..., None]
    highest = _max_pool(tf.where(digit, ids, -1.0))
    lowest = -_max_pool(tf.where(digit, -ids, -99.0))
    return tf.cast(digit & (highest != lowest), tf.float32)[..., 0]


def make_loss(contested_weight: float = 0.0):
    """The training loss; contested digit pixels count `1 + contested_weight` times in the
    cross-entropy (as U-Net's border weights for touching objects)."""

    def segmentation_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
        """Class-weighted cross-entropy (background down-weighted, IGNORE dropped) + soft Dice."""
        labels = tf.cast(y_true, tf.int32)
        valid = tf.cast(labels != IGNORE, tf.float32)
        safe = tf.where(labels == IGNORE, BACKGROUND, labels)
        onehot = tf.one_hot(safe, NUM_CLASSES) * valid[..., None]
        weights = tf.where(safe == BACKGROUND, BACKGROUND_WEIGHT, 1.0) * valid
        if contested_weight:
            weights = weights * (1.0 + contested_weight * contested_pixels(safe))
        ce = keras.losses.sparse_categorical_crossentropy(safe, y_pred)
        ce = tf.reduce_sum(ce * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
        probs = y_pred * valid[..., None]
        inter = tf.reduce_sum(onehot * probs, axis=(0, 1, 2))[:BACKGROUND]
        total = tf.reduce_sum(onehot + probs, axis=(0, 1, 2))[:BACKGROUND]
        present = tf.cast(tf.reduce_sum(onehot, axis=(0, 1, 2))[:BACKGROUND] > 0, tf.float32)
        dice = (2 * inter + 1.0) / (total + 1.0)
        dice_loss = 1.0 - tf.reduce_sum(dice * present) / tf.maximum(tf.reduce_sum(present), 1.0)
        return ce + dice_loss

    return segmentation_loss


def centre_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4) per digit centre."""
    heat = y_true[..., 0]
    p = tf.clip_by_value(y_pred[..., 0], 1e-4, 1 - 1e-4)
    peak = tf.cast(heat >= 0.999, tf.float32)
    positive = -tf.math.log(p) * (1 - p) ** 2 * peak
    negative = -tf.math.log(1 - p) * p**2 * (1 - heat) ** 4 * (1 - peak)
    return (tf.reduce_sum(positive) + tf.reduce_sum(negative)) / tf.maximum(tf.reduce_sum(peak), 1.0)


def size_loss(y_true: tf.Tensor, y_pred: tf.Tensor) -> tf.Tensor:
    """L1 on log2 digit size where the target's weight (channel 1) is set."""
    weight = y_true[..., 1]
    error = tf.abs(y_pred[..., 0] - y_true[..., 0]) * weight
    return tf.reduce_sum(error) / tf.maximum(tf.reduce_sum(weight), 1.0)


LOSS_WEIGHTS = {"probabilities": 1.0, "centres": 1.0, "sizes": 0.5}


def digit_iou_metric() -> keras.metrics.Metric:
    """Mean IoU over the ten digit classes, accumulated over the whole validation set."""
    return keras.metrics.IoU(num_classes=NUM_CLASSES, target_class_ids=list(range(BACKGROUND)),
                             sparse_y_pred=False, ignore_class=IGNORE, name="digit_iou")


def compile_model(model: keras.Model, learning_rate: float, decay_steps: int,
                  contested_weight: float = 0.0, ema: float | None = None) -> None:
    """Adam with cosine decay (and, with `ema`, a moving average of the weights)."""
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    segmentation = make_loss(contested_weight)
    optimizer = keras.optimizers.Adam(schedule, use_ema=ema is not None, ema_momentum=ema or 0.99)
    if isinstance(model.output, dict):
        model.compile(optimizer=optimizer,
                      loss={"probabilities": segmentation, "centres": centre_loss,
                            "sizes": size_loss},
                      loss_weights=LOSS_WEIGHTS, metrics={"probabilities": [digit_iou_metric()]})
    else:
        model.compile(optimizer=optimizer, loss=segmentation,
                      metrics=[digit_iou_metric()])


def iou_key(config: TrainConfig) -> str:
    """The name Keras logs the digit IoU metric under."""
    return "probabilities_digit_iou" if config.centres else "digit_iou"


def selection_key(config: TrainConfig) -> str:
    """The logged figure `best.keras` and early stopping follow (higher is better)."""
    if config.select_by == "field-strings":
        return FIELD_STRINGS
    if config.select_by != "iou":
        raise ValueError(f"select_by {config.select_by!r}: use iou or field-strings")
    return f"val_{iou_key(config)}"


def _strategy(name: str) -> tf.distribute.Strategy:
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _validation(config: TrainConfig, digits) -> tf.data.Dataset:
    tiles = list(synth_dataset(digits, config.seed + 1, config.val_tiles, config.tile,
                               config.m2nist_fraction, config.val_tiles, config.field_fraction,
                               config.centres, config.row_fraction).take(1))[0]
    return tf.data.Dataset.from_tensor_slices(tiles).batch(config.batch_size)


def _extra_training_data(config: TrainConfig) -> tf.data.Dataset | None:
    parts = []
    if config.m2nist:
        parts.append(m2nist_arrays(config.m2nist))
    for folder in config.folders:
        parts.append(folder_tiles(folder, config.tile, config.seed))
    if not parts:
        return None
    datasets = [tf.data.Dataset.from_tensor_slices(p).shuffle(4096, seed=config.seed).repeat()
                .batch(config.batch_size) for p in parts]
    return datasets[0] if len(datasets) == 1 else tf.data.Dataset.sample_from_datasets(
        datasets, seed=config.seed)


def plot_history(csv_path: Path, png_path: Path, iou: str = "digit_iou") -> None:
    """Loss and validation digit IoU per epoch, from the CSV log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = np.genfromtxt(csv_path, delimiter=",", names=True)
    rows = np.atleast_1d(rows)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(rows["epoch"], rows["loss"], label="train")
    ax1.plot(rows["epoch"], rows["val_loss"], label="val")
    ax1.set_title("loss")
    ax1.legend()
    ax2.plot(rows["epoch"], rows[iou], label="train")
    ax2.plot(rows["epoch"], rows[f"val_{iou}"], label="val")
    ax2.set_title("mean digit IoU")
    ax2.legend()
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
    fig.tight_layout()
    fig.savefig(png_path, dpi=90)
    plt.close(fig)


def _logged_epochs(csv_path: Path) -> int:
    return max(0, len(csv_path.read_text().splitlines()) - 1) if csv_path.is_file() else 0


def train(config: TrainConfig, resume: bool = False, verbose: int = 1,
          callbacks: list[keras.callbacks.Callback] | None = None) -> Path:
    """Run training; returns the path of the best Keras checkpoint (`best.keras`).

    `resume` continues an interrupted run from its last epoch backup, or a finished
    run (for more `epochs`) from `last.keras` with its optimizer state.
    """
    out = Path(config.out)
    if not resume and (out / "log.csv").exists():
        raise FileExistsError(f"{out}: an earlier run is there; pass --resume or a new --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2))
    random.seed(config.seed)
    np.random.seed(config.seed)
    keras.utils.set_random_seed(config.seed)

    digits = load_digits(config.mnist)
    train_digits = reproportioned(european_forms(split_digits(digits, "train"), config.seed),
                                  config.reproportion, config.seed)
    val_digits = european_forms(split_digits(digits, "val"), config.seed + 1)
    data = synth_dataset(train_digits, config.seed, config.batch_size, config.tile,
                         config.m2nist_fraction, None, config.field_fraction, config.centres,
                         config.row_fraction)
    extra = _extra_training_data(config)
    if extra is not None and config.centres:
        raise ValueError("--m2nist/--folder data has no digit centres: train it with --no-centres")
    if extra is not None:
        data = tf.data.Dataset.sample_from_datasets([data, extra], [0.7, 0.3], seed=config.seed)
    validation = _validation(config, val_digits)

    initial_epoch = 0
    with _strategy(config.strategy).scope():
        model = build_fcn8(config.width, batch_norm=config.batch_norm, centres=config.centres,
                           deep_width=config.deep_width)
        if config.init_from and not resume:
            load_onnx_weights(model, config.init_from)
        compile_model(model, config.learning_rate, config.epochs * config.steps_per_epoch,
                      config.contested_weight, config.ema)
        if resume and not (out / "backup").exists() and (out / "last.keras").exists():
            loss = make_loss(config.contested_weight)
            model = keras.models.load_model(out / "last.keras", custom_objects={
                "segmentation_loss": loss, "centre_loss": centre_loss, "size_loss": size_loss})
            initial_epoch = _logged_epochs(out / "log.csv")

    monitor = selection_key(config)
    selection = ([FieldStrings(val_digits, config.field_val, config.seed + 2)]
                 if monitor == FIELD_STRINGS else [])
    # the moving average is in the model from validation to the epoch's end: it is what is
    # scored, selected and saved (and what a resumed run goes on from)
    averaging = [keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if config.ema else []
    callbacks = [
        *averaging,
        *selection,  # next: it adds the figure the callbacks below read
        keras.callbacks.BackupAndRestore(str(out / "backup")),
        keras.callbacks.ModelCheckpoint(str(out / "last.keras")),
        keras.callbacks.ModelCheckpoint(str(out / "best.keras"), monitor=monitor,
                                        mode="max", save_best_only=True),
        keras.callbacks.EarlyStopping(monitor=monitor, mode="max", patience=config.patience),
        keras.callbacks.CSVLogger(str(out / "log.csv"), append=True),
        *(callbacks or []),
    ]
    # written first, so that a run stopped part way can be exported with its metadata
    meta = {"digit_height": MODEL_DIGIT_HEIGHT, "width": config.width,
            "deep_width": config.deep_width,
            "digit_source": digits.source, "split_seed": SPLIT_SEED, "seed": config.seed,
            "tile": config.tile, "params": int(model.count_params()),
            "centres": config.centres, "field_fraction": config.field_fraction,
            "m2nist_fraction": config.m2nist_fraction, "row_fraction": config.row_fraction,
            "reproportion": config.reproportion,
            "init_from": config.init_from}
    (out / "training.json").write_text(json.dumps(meta, indent=2))
    model.fit(data, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch,
              initial_epoch=initial_epoch, validation_data=validation, callbacks=callbacks, shuffle=False,
              verbose=verbose)
    plot_history(out / "log.csv", out / "curves.png", iou_key(config))
    return out / "best.keras"
