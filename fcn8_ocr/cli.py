"""`fcn8-ocr` command line: one verb per job; options are parsed here, work is done elsewhere.

Exit codes: 0 all fine, 1 some inputs failed, 2 usage error, 3 model error, 4 output
folder unusable, 130 interrupted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .config import INT8_CALIBRATION_TILES, OPTIONS
from .config import JOB_DEFAULTS as JOB
from .config import SYNTH_DEFAULTS as SYNTH
from .config import TRAIN_DEFAULTS as TRAIN

EXIT_OK, EXIT_INPUTS_FAILED, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3
EXIT_OUTPUT = 4  # --out cannot be written (read-only, full, not a folder, another run)
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT
MIN_TILE = 96  # a tile keeps 32 px of context on each side and moves by at least 32
TRAIN_HINT = "this command needs the training extra: pip install 'fcn8-ocr[train]'"

centre_threshold_option = click.option(
    "--centre-threshold", type=click.FloatRange(0.01, 1.0), default=None,
    help="Models with digit centres: peaks of the centre map at least this high are digits "
         "(default: the model's metadata, else 0.25; see docs/onnx.md).")

keep_cut_option = click.option(
    "--keep-cut-digits", "keep_cut", is_flag=True,
    help="Keep digits whose ink reaches the page's edge (by default they are dropped: the "
         "scan or crop cut through them, e.g. the next column's number in a field crop).")

one_line_option = click.option(
    "--one-line", "one_line", is_flag=True,
    help="Each image is a field crop holding one number (a register cell, a cheque amount): "
         "keep only its main line of digits, not the neighbouring rows' marks the crop caught.")

multi_scale_option = click.option(
    "--multi-scale-below", type=click.IntRange(min=0), default=OPTIONS.multi_scale_below,
    show_default=True,
    help="Models with digit centres: on images of up to this many model pixels and 5 rows "
         "of digits (field crops, strips) each digit's class is voted by the model's readings "
         "at five scales, 0.8-1.25x, and upright at two slants; pages and forms are read "
         "once. 0 = always once.")

min_line_height_option = click.option(
    "--min-line-height", type=click.FloatRange(0.0, 1.0), default=OPTIONS.min_line_height,
    show_default=True,
    help="On the images read at several scales (--multi-scale-below: field crops, not "
         "forms), drop lines of digits less tall than this times the tallest line: printed "
         "numbers and the smaller marks of the rows around a field. 0 = keep every line.")

size_quantile_option = click.option(
    "--size-quantile", type=click.FloatRange(0.05, 0.95), default=OPTIONS.size_quantile,
    show_default=True,
    help="Models with digit sizes, no --digit-height: read each page or form (not read at "
         "several scales, --multi-scale-below) at the digit height that this share of the "
         "digits the model finds are smaller than (weighted by how surely it finds them); "
         "field crops and strips at the median. The model reads digits up to about twice "
         "its own height well and smaller ones less well, so under 0.5 serves a page's "
         "smaller digits.")

ink_level_option = click.option(
    "--ink-level", type=click.IntRange(1, 255), default=OPTIONS.ink_level, show_default=True,
    help="Stroke pixels: at least this bright once the paper is removed and the page's "
         "typical ink set to 230; 115 = at least half covered by a stroke, 1 = every trace of "
         "ink (as M2NIST's own masks count them).")


def _finite(param: click.Parameter, value: float) -> float:
    """Refuse nan (a range check lets it through)."""
    if value != value:
        raise click.BadParameter("must be a number", param=param)
    return value


def _absent(module: str) -> bool:
    """True when `module` cannot be imported here (without importing it)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def _require_train_extra() -> None:
    """Exit with a one-line hint when TensorFlow (or the other training packages) are absent."""
    missing = [m for m in ("tensorflow", "tf2onnx", "mlxtend") if _absent(m)]
    if missing:
        click.echo(f"error: {TRAIN_HINT} (missing: {', '.join(missing)})", err=True)
        sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fcn8-ocr")
def main() -> None:
    """Segment handwritten digits on scanned pages and crop them for a recognizer."""


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (crops/, results.jsonl, errors.jsonl, ...).")
@click.option("--model", type=click.Path(dir_okay=False), default=None,
              help="ONNX model (default: the bundled model); a .keras checkpoint also works.")
@click.option("--provider", type=click.Choice(["auto", "cpu", "cuda"]), default=JOB.provider,
              show_default=True, help="onnxruntime execution provider; cuda never falls back.")
@click.option("--threads", type=int, default=JOB.threads, help="Threads per worker (0: cores / workers).")
@click.option("--workers", type=click.IntRange(min=1), default=JOB.workers, show_default=True,
              help="Worker processes, each with its own session.")
@click.option("--batch-size", type=click.IntRange(min=1), default=OPTIONS.batch_size,
              show_default=True,
              help="Most tiles per inference call (calls also stay near 1.2 Mpx).")
@click.option("--tile", type=click.IntRange(min=MIN_TILE), default=OPTIONS.tile, show_default=True,
              help="Tile side in model pixels for large pages.")
@click.option("--digit-height", type=click.FloatRange(min=4), default=None,
              help="Digit height in page pixels (default: estimated per page).")
@click.option("--pad", type=click.IntRange(min=0), default=JOB.pad, show_default=True,
              help="Pixels added around each crop.")
@click.option("--labels", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Folder of ground-truth class-id PNGs matched by stem.")
@click.option("--dpi", type=click.FloatRange(min=10.0, max=2400.0), default=JOB.dpi,
              show_default=True, callback=lambda ctx, param, value: _finite(param, value),
              help="PDF render resolution (10-2400).")
@click.option("--save-masks", is_flag=True, help="Write masks/<page>.png (class ids, page size).")
@click.option("--save-overlay", is_flag=True, help="Write overlays/<page>.png for a person.")
@click.option("--no-refine", is_flag=True, help="Keep the model's masks; do not cut them to the ink.")
@ink_level_option
@centre_threshold_option
@keep_cut_option
@one_line_option
@multi_scale_option
@min_line_height_option
@size_quantile_option
@click.option("--resume", is_flag=True, help="Skip pages already complete in results.jsonl.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default=JOB.engine, show_default=True,
              help="local processes, or a Ray cluster (the [ray] extra).")
@click.option("--address", default=None, help="Ray head (ray://host:port or auto); default: local Ray.")
@click.option("--num-actors", type=click.IntRange(min=1), default=JOB.num_actors, show_default=True,
              help="Ray actors, each with one onnxruntime session.")
@click.option("--ray-batch-size", type=click.IntRange(min=1), default=JOB.ray_batch_size,
              show_default=True, help="Files per Ray batch (--engine ray).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
def segment(inputs: tuple[str, ...], out: Path, model: str | None, provider: str, threads: int,
            workers: int, batch_size: int, tile: int, digit_height: float | None, pad: int,
            labels: Path | None, dpi: float, save_masks: bool, save_overlay: bool,
            no_refine: bool, ink_level: int, centre_threshold: float | None, keep_cut: bool,
            one_line: bool, multi_scale_below: int, min_line_height: float,
            size_quantile: float, resume: bool, engine: str, address: str | None,
            num_actors: int, ray_batch_size: int, quiet: bool) -> None:
    """Segment INPUTS (files, folders, globs) and write digit crops under --out."""
    if engine == "ray" and _absent("ray"):
        from .engine_ray import RAY_HINT

        click.echo(f"error: {RAY_HINT}", err=True)
        sys.exit(EXIT_USAGE)
    from .batch import OutputError, run_job
    from .config import JobConfig, Options
    from .contract import ModelError
    from .infer import load_predictor
    from .report import print_summary

    if model is not None and model.endswith(".keras"):
        _require_train_extra()
    try:
        probe = load_predictor(model, provider, 1)
    except ModelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_MODEL)
    options = Options(digit_height=digit_height, tile=tile, batch_size=batch_size,
                      refine=not no_refine, ink_level=ink_level, keep_cut=keep_cut,
                      one_line=one_line, centre_threshold=centre_threshold,
                      multi_scale_below=multi_scale_below, min_line_height=min_line_height,
                      size_quantile=size_quantile)
    config = JobConfig(inputs=list(inputs), out=out, model=model, provider=provider,
                       threads=threads, workers=workers, options=options, labels=labels, pad=pad,
                       dpi=dpi, save_masks=save_masks, save_overlay=save_overlay, resume=resume,
                       quiet=quiet, engine=engine, address=address, num_actors=num_actors,
                       ray_batch_size=ray_batch_size)
    try:
        summary = run_job(config)
    except OutputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_OUTPUT)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: what is in {out} is complete; run the same command with "
                   "--resume to go on", err=True)
        sys.exit(EXIT_INTERRUPTED)
    print_summary(summary, config, probe.info.classes, quiet)
    sys.exit(EXIT_INPUTS_FAILED if summary.errors else EXIT_OK)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def info(model: str | None, as_json: bool) -> None:
    """Print a model's inputs, outputs, opset, size and metadata (default: bundled model)."""
    from .contract import ModelError
    from .report import model_summary

    try:
        summary = model_summary(model)
    except ModelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_MODEL)
    if as_json:
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    for key, value in summary.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True)
        click.echo(f"{key:>16}: {value}")


@main.command()
@click.option("--kind", type=click.Choice(["m2nist", "m2nist-overlap", "document", "field"]),
              required=True,
              help="m2nist: digits placed as M2NIST places them; m2nist-overlap: anywhere, "
                   "overlapping freely; document: scan-like pages; field: register-like field "
                   "crops (thin pen, margins, borders, rulings), also labelled in labels.csv.")
@click.option("--count", type=click.IntRange(min=1), required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=SYNTH.seed, show_default=True)
@click.option("--split", type=click.Choice(["train", "val", "test", "all"]), default=SYNTH.split,
              show_default=True, help="Which digits (disjoint by source image) to draw from.")
@click.option("--mnist", type=click.Path(exists=True), default=None,
              help="MNIST files (mnist.npz or IDX) instead of the bundled 5,000 digits.")
@click.option("--size", type=(int, int), default=SYNTH.size, show_default=True,
              help="Document page (or field crop) width and height in pixels.")
@click.option("--digit-height", type=(float, float), default=SYNTH.digit_height,
              show_default=True,
              help="Range of handwritten digit heights on document pages.")
@click.option("--mask-level", type=click.IntRange(1, 255), default=SYNTH.mask_level,
              show_default=True,
              help="M2NIST kinds: a digit pixel has at least this intensity (1: every non-zero "
                   "pixel, as M2NIST's own masks).")
def synth(kind: str, count: int, out: Path, seed: int, split: str, mnist: str | None,
          size: tuple[int, int], digit_height: tuple[float, float], mask_level: int) -> None:
    """Write synthetic images/ + labels/ (and M2NIST .npy files for the m2nist kinds)."""
    _require_train_extra()
    from .train.synthesize import write_synthetic

    write_synthetic(kind, count, out, seed, split, mnist, size, digit_height, mask_level)
    click.echo(f"wrote {count} {kind} images to {out}")


@main.command()
@click.option("--out", type=click.Path(file_okay=False), default=TRAIN.out, show_default=True)
@click.option("--width", type=float, default=TRAIN.width, show_default=True,
              help="Filter multiplier (1.0 = the course lab's FCN-8).")
@click.option("--deep-width", type=click.FloatRange(min=0.03), default=TRAIN.deep_width,
              help="Filter multiplier of blocks 4 and 5 only (default: --width). With "
                   "--init-from a narrower model, its filters are kept and the new ones start "
                   "with zero weight onwards, so training starts from its outputs.")
@click.option("--batch-norm", is_flag=True, help="Batch normalisation after each convolution.")
@click.option("--epochs", type=int, default=TRAIN.epochs, show_default=True)
@click.option("--steps", "steps_per_epoch", type=int, default=TRAIN.steps_per_epoch, show_default=True)
@click.option("--batch-size", type=int, default=TRAIN.batch_size, show_default=True)
@click.option("--tile", type=int, default=TRAIN.tile, show_default=True)
@click.option("--digit-height", type=click.FloatRange(min=8.0), default=TRAIN.digit_height,
              show_default=True,
              help="The model's own digit height in model pixels: pages are scaled so that their "
                   "digits are this tall (training draws 0.5-2x of it). Smaller reads a page in "
                   "fewer pixels.")
@click.option("--lr", "learning_rate", type=float, default=TRAIN.learning_rate, show_default=True)
@click.option("--seed", type=int, default=TRAIN.seed, show_default=True)
@click.option("--val-tiles", type=int, default=TRAIN.val_tiles, show_default=True)
@click.option("--m2nist-fraction", type=click.FloatRange(0.0, 1.0), default=TRAIN.m2nist_fraction,
              show_default=True,
              help="Share of training tiles that are M2NIST-style compositions.")
@click.option("--field-fraction", type=click.FloatRange(0.0, 1.0), default=TRAIN.field_fraction,
              show_default=True,
              help="Share of training tiles that are register-like field crops (thin pen, "
                   "margins, borders, rulings, punctuation).")
@click.option("--row-fraction", type=click.FloatRange(0.0, 1.0), default=TRAIN.row_fraction,
              show_default=True,
              help="Share of training tiles packed with rows of MNIST-format digits, a share "
                   "of them leaning steeply; the rest are page tiles.")
@click.option("--reproportion", type=click.FloatRange(0.0, 1.0), default=TRAIN.reproportion,
              show_default=True,
              help="Share of training digits whose upper part is grown or shrunk against their "
                   "lower part (a 9 with a small head, a 2 with a large bowl).")
@click.option("--centres/--no-centres", default=TRAIN.centres, show_default=True,
              help="Train the digit-centre and digit-size heads (one region per digit).")
@click.option("--init-from", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from the weights of an exported fcn8-ocr ONNX model (e.g. the bundled "
                   "fp32 one, default.fp32.onnx; an int8 file's weights are read dequantized) or "
                   "of a Keras checkpoint (.keras).")
@click.option("--contested-weight", type=click.FloatRange(min=0.0), default=TRAIN.contested_weight,
              show_default=True,
              help="Extra cross-entropy weight of digit pixels next to another digit.")
@click.option("--patience", type=int, default=TRAIN.patience, show_default=True)
@click.option("--mnist", type=click.Path(exists=True), default=None,
              help="MNIST files instead of the bundled 5,000 digits.")
@click.option("--m2nist", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder with M2NIST combined.npy + segmented.npy to mix in.")
@click.option("--folder", "folders", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Folder of images/ + labels/ to mix in (repeatable).")
@click.option("--select-by", type=click.Choice(["iou", "field-strings"]), default=TRAIN.select_by,
              show_default=True,
              help="What best.keras and early stopping follow: validation mean digit IoU, or "
                   "string accuracy of synthetic val field crops read by the runner (centre models).")
@click.option("--field-val", type=click.IntRange(min=1), default=TRAIN.field_val, show_default=True,
              help="Field crops read each epoch for --select-by field-strings.")
@click.option("--ema", type=click.FloatRange(0.0, 1.0, max_open=True), default=TRAIN.ema,
              help="Validate and checkpoint an exponential moving average of the weights "
                   "with this momentum per step (e.g. 0.998), not the last step's weights.")
@click.option("--strategy", type=click.Choice(["default", "mirrored", "multi-worker"]),
              default=TRAIN.strategy, show_default=True, help="tf.distribute strategy.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last epoch.")
@click.option("--quiet", "-q", is_flag=True, help="One line per epoch instead of a progress bar.")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Make the synthetic tiles in N spawned processes and train on the Keras backend "
                   "KERAS_BACKEND names (JAX on a GPU machine without TensorFlow); 0: tf.data.")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop at the first epoch end after this many minutes of training.")
def train(resume: bool, quiet: bool, workers: int, minutes: float | None, **kwargs: object) -> None:
    """Train an FCN-8 on synthetic document pages and M2NIST-style images."""
    from .config import TrainConfig

    kwargs["folders"] = list(kwargs["folders"])  # type: ignore[arg-type]
    config, verbose = TrainConfig(**kwargs), 2 if quiet else 1
    if workers:
        from .train.workers import train_with_workers

        best = train_with_workers(config, workers, resume, verbose, minutes)
    else:
        _require_train_extra()
        from .train.fit import train as run_training
        from .train.recipe import TimeLimit

        best = run_training(config, resume=resume, verbose=verbose,
                            callbacks=[TimeLimit(minutes)] if minutes else None)
    click.echo(f"best checkpoint: {best}")


@main.command()
@click.option("--model", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A .keras checkpoint or an .onnx model.")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="Folder with images/ + labels/ masks, M2NIST combined.npy + segmented.npy, "
                   "images + labels.csv (filename,label), or COCO annotations/instances_*.json.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for metrics.json (and confusion.csv/png, metrics.png for masks).")
@click.option("--digit-height", type=click.FloatRange(min=4), default=None,
              help="Digit height in page pixels (default: estimated per page).")
@click.option("--no-refine", is_flag=True, help="Score the model's masks without ink refinement.")
@ink_level_option
@centre_threshold_option
@keep_cut_option
@one_line_option
@multi_scale_option
@min_line_height_option
@size_quantile_option
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Evaluate the first N images only.")
def evaluate(model: str, data: str, out: Path | None, digit_height: float | None,
             no_refine: bool, ink_level: int, centre_threshold: float | None,
             keep_cut: bool, one_line: bool, multi_scale_below: int, min_line_height: float,
             size_quantile: float, limit: int | None) -> None:
    """Score a model on labelled data: IoU/Dice (masks), string and count accuracy and CER
    (labels.csv), recall/precision/class and string accuracy (COCO digit boxes)."""
    if model.endswith(".keras"):
        _require_train_extra()
    from .config import Options
    from .contract import ModelError
    from .evaluate import evaluate as run_evaluation
    from .evaluate import recorded_line
    from .metrics import format_table
    from .read import InputError
    from .scoring import format_strings

    options = Options(digit_height=digit_height, refine=not no_refine, ink_level=ink_level,
                      keep_cut=keep_cut, one_line=one_line, centre_threshold=centre_threshold,
                      multi_scale_below=multi_scale_below, min_line_height=min_line_height,
                      size_quantile=size_quantile)
    try:
        report = run_evaluation(model, data, out, options, limit)
    except ModelError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_MODEL)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INPUTS_FAILED)
    if report["kind"] == "masks":
        click.echo(format_table(report))
        click.echo(f"images: {report['images']}")
    else:
        click.echo(format_strings(report))
    click.echo(f"data: {report['data']} (fingerprint {report['fingerprint']})")
    if "recorded" in report:
        click.echo(recorded_line(report["recorded"], report["fingerprint"]))
    for error in report.get("errors", []):
        click.echo(f"error: {error['image']}: {error['error']}", err=True)
    if report.get("errors"):
        sys.exit(EXIT_INPUTS_FAILED)


@main.command()
@click.option("--weights", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Keras checkpoint (.keras) from `fcn8-ocr train`.")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--opset", type=int, default=17, show_default=True)
@click.option("--probabilities", is_flag=True, help="Also output per-class probabilities.")
@click.option("--metrics", "metrics_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="JSON of evaluation figures to store in the metadata.")
@click.option("--int8", is_flag=True, help="Write a static int8 (QDQ) model to --out.")
@click.option("--calibration", default="synth", show_default=True,
              help="int8 calibration data: 'synth' or a folder of images/ + labels/.")
@click.option("--calibration-tiles", type=click.IntRange(min=8), default=INT8_CALIBRATION_TILES,
              show_default=True, help="int8: how many tiles to calibrate on.")
@click.option("--fp16", is_flag=True, help="Write an fp16 model (for CUDA) to --out.")
def export(weights: str, out: Path, opset: int, probabilities: bool, metrics_path: str | None,
           int8: bool, calibration: str, calibration_tiles: int, fp16: bool) -> None:
    """Convert a Keras checkpoint to ONNX (uint8 image in; labels, scores out)."""
    _require_train_extra()
    if int8 and fp16:
        raise click.UsageError("choose one of --int8 and --fp16")
    from .export.convert import export_checkpoint
    from .export.parity import ParityError

    fp32 = out.with_name(out.stem + ".fp32.onnx") if (int8 or fp16) else out
    try:
        report = export_checkpoint(weights, fp32, opset, probabilities, metrics_path)
    except ParityError as exc:
        click.echo(f"error: {exc}; nothing written", err=True)
        sys.exit(EXIT_MODEL)
    click.echo(f"wrote {fp32} (parity with Keras: max |dp| {report['max_abs_diff']:.1e}, "
               f"same class {report['same_class']:.4%})")
    if int8 or fp16:
        from .export.variants import write_variant

        check = write_variant(fp32, out, "int8" if int8 else "fp16", calibration, calibration_tiles)
        if check is None:
            click.echo(f"wrote {out} (fp16, not validated: no CUDA provider here)")
        else:
            click.echo(f"wrote {out} ({'int8' if int8 else 'fp16'}: same class as fp32 "
                       f"{check['same_class']:.3%}, {check['speedup']:.2f}x fp32 speed)")
