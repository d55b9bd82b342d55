"""Every default of the runner in one place: how pages are segmented (`Options`) and
what a `segment` job does (`JobConfig`). The CLI's option defaults are read from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .classes import INK_LEVEL


@dataclass
class Options:
    """How pages are segmented (CLI options map 1:1 onto these)."""

    digit_height: float | None = None  # page pixels; None = estimate per page
    size_quantile: float = 0.4         # pages and forms are read at the digit height this share of
    # the model's digit sizes (heat-weighted) is under; 0.5 = the median (pipeline._measured_height)
    tile: int = 768                    # model-scale tile side
    whole_below: int = 1_600_000       # model-scale pages up to this many pixels: one window
    margin: int = 32                   # context kept around each tile's core
    batch_size: int = 32
    refine: bool = True                # cut region masks to the page's own ink
    ink_level: int = INK_LEVEL         # stroke pixels: this bright once paper is removed
    min_area: float = 0.04             # x digit_height**2
    centre_threshold: float | None = None  # centre-map peaks this high are digits; None = the model's
    keep_cut: bool = False             # keep digits the page's edge cuts through
    one_line: bool = False             # each page is a field crop: keep only its main line
    multi_scale_below: int = 400_000   # model-scale pages up to this many pixels and 5 rows of
    # digits (field crops, not forms: pipeline.CROP_MAX_ROWS): each digit's class is voted at
    # five scales and two slants (pipeline.VOTE_SCALES, VOTE_SLANTS); 0 = once
    min_line_height: float = 0.6       # on those images, lines of digits less tall than this x the
    # tallest line's are dropped (printed numbers, neighbouring rows' smaller marks); 0 = keep all


@dataclass(kw_only=True)
class JobConfig:
    """Everything `fcn8-ocr segment` was asked to do."""

    inputs: list[str]
    out: Path
    model: str | None = None
    provider: str = "auto"
    threads: int = 0                   # per worker; 0 = cores / workers
    workers: int = 1
    options: Options = field(default_factory=Options)
    labels: Path | None = None
    pad: int = 4
    dpi: float = 300.0
    save_masks: bool = False
    save_overlay: bool = False
    resume: bool = False
    quiet: bool = False
    engine: str = "local"
    address: str | None = None  # Ray head address (engine "ray"); None starts a local Ray
    num_actors: int = 1
    ray_batch_size: int = 4           # files per Ray batch


OPTIONS = Options()
JOB_DEFAULTS = JobConfig(inputs=[], out=Path("."))


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved next to the checkpoints); the
    defaults are the bundled model's recipe (docs/model.md) less its data paths."""

    out: str = "runs/default"
    width: float = 0.5
    deep_width: float | None = None  # blocks 4 and 5's filter multiplier (default: width)
    batch_norm: bool = False
    epochs: int = 50
    steps_per_epoch: int = 200
    batch_size: int = 16
    tile: int = 128
    digit_height: float = 24.0       # the model's own digit height (model pixels): training
    # draws digits 0.5-2x this tall; the network's cost per page grows with its square
    learning_rate: float = 1e-3
    seed: int = 0
    m2nist_fraction: float = 0.3     # training tiles: M2NIST-style compositions,
    field_fraction: float = 0.45     # register-like field crops,
    row_fraction: float = 0.0        # rows of MNIST-format digits, and the rest page tiles
    reproportion: float = 0.0        # share of training digits with head and tail resized
    centres: bool = True
    init_from: str | None = None
    contested_weight: float = 0.0
    val_tiles: int = 256
    patience: int = 8
    mnist: str | None = None
    m2nist: str | None = None
    folders: list[str] = field(default_factory=list)
    strategy: str = "default"
    select_by: str = "iou"           # checkpoints and early stopping: "iou" or "field-strings"
    field_val: int = 200             # synthetic val field crops read for "field-strings"
    ema: float | None = None         # momentum of an exponential moving average of the weights


@dataclass
class SynthConfig:
    """Defaults of `fcn8-ocr synth`."""

    seed: int = 0
    split: str = "test"
    size: tuple[int, int] = (1240, 1754)            # page (or field crop) width, height
    digit_height: tuple[float, float] = (15.0, 120.0)
    mask_level: int = 128


TRAIN_DEFAULTS = TrainConfig()
SYNTH_DEFAULTS = SynthConfig()
# synthetic tiles an int8 file is calibrated on (`fcn8-ocr export --int8`, the bundle); the
# bundled file's 1,024 passed the int8 rule where 512 did not (docs/model.md)
INT8_CALIBRATION_TILES = 1024
