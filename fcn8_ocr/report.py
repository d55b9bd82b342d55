"""What the CLI prints: the end-of-run summary and a model's description."""

from __future__ import annotations

from pathlib import Path

import click

from .contract import ModelError, read_metadata
from .infer import Segmenter
from .metrics import format_table


def print_summary(summary, config, class_names: list[str], quiet: bool) -> None:
    """Pages, regions per class, errors, throughput (and metrics when labels were given)."""
    if quiet:
        return
    rate = summary.pages / summary.seconds if summary.seconds else 0.0
    per_class = ", ".join(f"{class_names[c]}:{n}" for c, n in sorted(summary.regions.items()))
    click.echo(f"pages: {summary.pages} (skipped as done: {summary.skipped}), "
               f"errors: {summary.errors}, regions: {sum(summary.regions.values())} "
               f"[{per_class}]", err=True)
    click.echo(f"time: {summary.seconds:.2f} s, {rate:.2f} pages/s, output: {config.out}",
               err=True)
    if summary.metrics is not None:
        click.echo(format_table(summary.metrics), err=True)
    if summary.errors:
        click.echo(f"{summary.errors} input(s) failed: see {config.out / 'errors.jsonl'}",
                   err=True)


def model_summary(path: str | Path | None) -> dict:
    """Inputs, outputs, opset, size, providers and `fcn8_ocr.*` metadata of a model."""
    segmenter = Segmenter(path, "cpu", 1)
    session = segmenter.session
    meta = session.get_modelmeta()
    try:
        metadata = read_metadata(meta.custom_metadata_map)
    except Exception as exc:  # pragma: no cover - defensive
        raise ModelError(f"{segmenter.path}: unreadable metadata ({exc})") from exc

    def describe(args) -> list[dict]:
        return [{"name": a.name, "type": a.type, "shape": [str(d) for d in a.shape]} for a in args]

    return {
        "model": str(segmenter.path),
        "size_mb": round(segmenter.path.stat().st_size / 2**20, 3),
        "producer": meta.producer_name,
        "opset": metadata.get("opset"),
        "inputs": describe(session.get_inputs()),
        "outputs": describe(session.get_outputs()),
        "metadata": metadata,
    }
