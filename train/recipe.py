"""One training recipe for every input pipeline and Keras backend: the run folder, the
digits, the model, Adam with cosine decay, the callbacks and the fit itself.

`fit.train` feeds it tf.data (TensorFlow); `workers.train_with_workers` feeds it batches
made by worker processes (any backend: JAX on a GPU machine that has no TensorFlow).
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from fcn8_ocr.classes import BACKGROUND, IGNORE, NUM_CLASSES
from fcn8_ocr.config import TrainConfig

from .losses import LOSS_WEIGHTS, centre_loss, custom_objects, make_loss, size_loss
from .model import build_fcn8
from .selection import LOG_KEY as FIELD_STRINGS
from .selection import FieldStrings
from .sources import SPLIT_SEED, Digits
from .warm_start import load_onnx_weights


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


def start_run(config: TrainConfig, resume: bool) -> Path:
    """The run folder with its `config.json`; seeds every random generator."""
    out = Path(config.out)
    if not resume and (out / "log.csv").exists():
        raise FileExistsError(f"{out}: an earlier run is there; pass --resume or a new --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2))
    random.seed(config.seed)
    np.random.seed(config.seed)
    keras.utils.set_random_seed(config.seed)
    return out


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


class TimeLimit(keras.callbacks.Callback):
    """Stops training at the first epoch end after `minutes` of fitting."""

    def __init__(self, minutes: float) -> None:
        super().__init__()
        self.deadline = time.monotonic() + 60 * minutes

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if time.monotonic() > self.deadline:
            self.model.stop_training = True


def _logged_epochs(csv_path: Path) -> int:
    return max(0, len(csv_path.read_text().splitlines()) - 1) if csv_path.is_file() else 0


def fit_model(config: TrainConfig, digits: Digits, val_digits: Digits, data, validation,
              resume: bool = False, verbose: int = 1,
              callbacks: list[keras.callbacks.Callback] | None = None,
              scope: contextlib.AbstractContextManager | None = None) -> Path:
    """Build (or resume) the model, fit it on `data` with `validation`, write the run
    folder's checkpoints, log and curves; returns the path of `best.keras`. The model is
    built and compiled inside `scope` (a distribution strategy's, say)."""
    out = Path(config.out)
    initial_epoch = 0
    with scope or contextlib.nullcontext():
        model = build_fcn8(config.width, batch_norm=config.batch_norm, centres=config.centres,
                           deep_width=config.deep_width)
        if config.init_from and not resume:
            load_onnx_weights(model, config.init_from)
        compile_model(model, config.learning_rate, config.epochs * config.steps_per_epoch,
                      config.contested_weight, config.ema)
        if resume and not (out / "backup").exists() and (out / "last.keras").exists():
            model = keras.models.load_model(out / "last.keras",
                                            custom_objects=custom_objects(config.contested_weight))
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
    meta = {"digit_height": config.digit_height, "width": config.width,
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
