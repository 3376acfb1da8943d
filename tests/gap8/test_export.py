"""Int8 TFLite / ONNX export: integer-only files, dilations NNTool can read, fidelity, errors.

The candidate is a minimal 64x64, alpha 0.35, 5-class MobileNetV2 network with a stride-2
dilation-2 block (Subsample2D), dilation-2 and dilation-4 blocks. Its weights are random with
BatchNormalization statistics calibrated on the images, so activations carry the input through
the network (with uncalibrated random statistics every pixel gets the same class and an
agreement test would be vacuous).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fmas_hw.errors import ExportError
from fmas_hw.gap8.export import (
    argmax_agreement,
    assert_no_space_to_batch,
    export_onnx,
    export_tflite_int8,
    prepare_for_export,
    space_to_batch_layers,
    tflite_op_summary,
    tflite_predict,
)
from fmas_hw.model.layers import Subsample2D
from fmas_hw.space import MobileNetV2Space

L = tf.keras.layers
SIZE, CLASSES = 64, 5
#: block 13 stride 2 + dilation 2 (Subsample2D), block 16 dilation 4, one layer per group.
GENOME = "0010" + "001" + "000011" + "10" + "100" + "1000" + "100" + "100"
#: Int8 argmax agreement bound for the random-weight candidate; see test_int8_agreement.
MIN_AGREEMENT = 0.6
MIN_LOGIT_CORRELATION = 0.9


def blob_images(n: int, seed: int, size: int = SIZE) -> np.ndarray:
    """Images in [-1, 1]: a flat background with a few discs of random colour."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = np.empty((n, size, size, 3), np.float32)
    for k in range(n):
        out[k] = rng.uniform(-1, 1, 3)
        for _ in range(4):
            cy, cx = rng.uniform(0.1, 0.9, 2)
            out[k][(yy - cy) ** 2 + (xx - cx) ** 2 < rng.uniform(0.1, 0.3) ** 2] = rng.uniform(-1, 1, 3)
    return out


def calibrate_batchnorm(model: tf.keras.Model, images: np.ndarray) -> None:
    """Set every BN's moving statistics to the batch statistics of ``images`` (one pass)."""
    bns = [lay for lay in model.layers if isinstance(lay, L.BatchNormalization)]
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.momentum = 0.0
    model(images, training=True)
    for bn, momentum in zip(bns, momenta, strict=True):
        bn.momentum = momentum


@pytest.fixture(scope="module")
def calibration_images():
    return blob_images(16, seed=1)


@pytest.fixture(scope="module")
def test_images():
    return blob_images(8, seed=2)


@pytest.fixture(scope="module")
def candidate(tiny_mnv2_supernet, calibration_images):
    model = tiny_mnv2_supernet.subnet(MobileNetV2Space().decode(GENOME))
    calibrate_batchnorm(model, calibration_images)
    return model


@pytest.fixture(scope="module")
def int8_file(candidate, calibration_images, tmp_path_factory):
    return export_tflite_int8(candidate, calibration_images, tmp_path_factory.mktemp("tflite") / "c.tflite")


def dilated_model() -> tf.keras.Model:
    """Every dilation pattern of the builders, small: dilated Conv2D, depthwise, depthwise+subsample."""
    rng = np.random.default_rng(0)
    x = inputs = L.Input((16, 16, 8), name="input_1")
    x = L.Conv2D(8, 3, dilation_rate=2, padding="same", name="conv_d2")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="same", use_bias=False, name="dw_d2")(x)
    x = L.BatchNormalization(name="dw_d2_BN")(x)
    x = L.ReLU(6.0, name="dw_d2_relu")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=4, padding="same", use_bias=False, name="dw_s2_d4")(x)
    x = Subsample2D(2, name="dw_s2_d4_subsample")(x)
    x = L.BatchNormalization(name="dw_s2_d4_BN")(x)
    x = L.DepthwiseConv2D(3, dilation_rate=2, padding="valid", name="dw_valid_d2")(x)
    model = tf.keras.Model(inputs, x, name="dilated")
    for w in model.weights:
        w.assign(rng.uniform(0.5, 1.5, w.shape).astype(np.float32))
    return model


def float_tflite(model: tf.keras.Model, x: np.ndarray) -> tuple[np.ndarray, set[str]]:
    """Float TFLite output of ``model`` on ``x`` and its op types."""
    interpreter = tf.lite.Interpreter(model_content=tf.lite.TFLiteConverter.from_keras_model(model).convert())
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    interpreter.invoke()
    ops = {op["op_name"] for op in interpreter._get_ops_details()}
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]), ops


def depthwise_geometry(path) -> set[tuple[int, int, int]]:
    """(stride, dilation, padding) of every DEPTHWISE_CONV_2D, read from the flatbuffer."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    options = [op.builtinOptions for op in model.subgraphs[0].operators]
    return {(o.strideH, o.dilationHFactor, o.padding) for o in options
            if isinstance(o, schema.DepthwiseConv2DOptionsT)}


# -- int8 TFLite ---------------------------------------------------------------------------------

def test_int8_export_is_integer_only(int8_file):
    interpreter = tf.lite.Interpreter(model_path=str(int8_file))
    dtypes = {t["name"]: t["dtype"] for t in interpreter.get_tensor_details()}
    floats = [name for name, dtype in dtypes.items() if dtype not in (np.int8, np.int32)]
    assert floats == []
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8


def test_int8_export_keeps_dilations_on_depthwise_convs(int8_file):
    ops = tflite_op_summary(int8_file)
    assert not set(ops) & {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"}
    assert "STRIDED_SLICE" not in ops and "MUL" not in ops  # subsample folded, every BN folded
    assert ops["DEPTHWISE_CONV_2D"] == 7
    assert_no_space_to_batch(int8_file)
    geometry = depthwise_geometry(int8_file)
    assert (2, 2, 1) in geometry  # block 13: stride 2, dilation 2, VALID after an explicit PAD
    assert (1, 4, 0) in geometry  # block 16: dilation 4, SAME


def test_int8_agreement(candidate, int8_file, test_images, record_property):
    """Int8 vs float argmax agreement on images not used for calibration.

    Bound: every layer of this export is quantised at the ideal level (the TFLite quantisation
    debugger shows an RMSE of ~0.3 LSB per layer, 1/sqrt(12) being ideal), but a random-weight
    network has small logit margins, so ~0.76 of the pixels keep their class (a trained network
    keeps far more). A broken scale/zero-point or graph drops to chance (0.2-0.35 here); the
    logit correlation (~0.96) is the finer check.
    """
    agreement = argmax_agreement(candidate, int8_file, test_images)
    logits = tflite_predict(int8_file, test_images)
    correlation = np.corrcoef(logits.ravel(), candidate.predict(test_images, verbose=0).ravel())[0, 1]
    print(f"\nint8 argmax agreement {agreement:.3f}, logit correlation {correlation:.3f}")
    record_property("argmax_agreement", round(agreement, 4))
    record_property("logit_correlation", round(float(correlation), 4))
    assert agreement >= MIN_AGREEMENT
    assert correlation >= MIN_LOGIT_CORRELATION


# -- the dilation rewrite ------------------------------------------------------------------------

def test_rewrite_matches_keras_exactly_in_float():
    model = dilated_model()
    x = np.random.default_rng(1).normal(size=(1, 16, 16, 8)).astype(np.float32)
    got, ops = float_tflite(prepare_for_export(model), x)
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-4)
    assert not ops & {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "STRIDED_SLICE", "MUL"}


def test_model_without_dilations_is_not_rewritten():
    inputs = L.Input((8, 8, 3))
    model = tf.keras.Model(inputs, L.DepthwiseConv2D(3, padding="same")(inputs))
    assert prepare_for_export(model) is model


def test_unfolded_export_is_rejected_naming_the_layers(tmp_path):
    model = dilated_model()
    path = export_tflite_int8(model, np.random.default_rng(0).normal(size=(4, 16, 16, 8)).astype(np.float32),
                              tmp_path / "raw.tflite", fold_dilations=False)
    assert "SPACE_TO_BATCH_ND" in tflite_op_summary(path)
    assert space_to_batch_layers(path) == ["conv_d2", "dw_d2", "dw_s2_d4", "dw_valid_d2"]
    with pytest.raises(ExportError, match=r"conv_d2, dw_d2, dw_s2_d4.*NNTool 4.22 refuses to import.*fold_dilations=True"):
        assert_no_space_to_batch(path)


def test_subclassed_model_with_dilations_is_refused():
    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            self.dw = L.DepthwiseConv2D(3, dilation_rate=2, padding="same")

        def call(self, x):
            return self.dw(x)

    net = Net()
    net(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ExportError, match="functional"):
        prepare_for_export(net)


# -- ONNX ----------------------------------------------------------------------------------------

def test_onnx_export_matches_keras(candidate, test_images, tmp_path):
    import onnx
    import onnxruntime as ort

    path = export_onnx(candidate, tmp_path / "c.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    got = np.concatenate([session.run(None, {name: test_images[i: i + 1]})[0] for i in range(3)])
    np.testing.assert_allclose(got, candidate.predict(test_images[:3], verbose=0), atol=1e-3)


# -- bad inputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("images", "message"), [
    (np.zeros((0, 16, 16, 8), np.float32), "non-empty"),
    (np.zeros((16, 16, 8), np.float32), "non-empty"),
    (np.zeros((2, 16, 16, 8), np.uint8), "float images preprocessed"),
    (np.zeros((2, 32, 32, 8), np.float32), "the model expects"),
    (np.full((2, 16, 16, 8), np.nan, np.float32), "NaN"),
], ids=["empty", "no-batch-axis", "uint8", "wrong-size", "nan"])
def test_bad_representative_images_are_refused(images, message, tmp_path):
    with pytest.raises(ExportError, match=message):
        export_tflite_int8(dilated_model(), images, tmp_path / "x.tflite")
    assert not (tmp_path / "x.tflite").exists()


def test_missing_tflite_file_is_reported(tmp_path):
    with pytest.raises(ExportError, match="no TFLite file"):
        tflite_op_summary(tmp_path / "none.tflite")
    with pytest.raises(ExportError, match="no TFLite file"):
        tflite_predict(tmp_path / "none.tflite", np.zeros((1, 4, 4, 3), np.float32))


def test_garbage_tflite_file_is_reported(tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(b"not a flatbuffer")
    with pytest.raises(ExportError, match="not a readable TFLite"):
        tflite_op_summary(path)


def test_predict_checks_image_shape(int8_file):
    with pytest.raises(ExportError, match="the model expects"):
        tflite_predict(int8_file, np.zeros((1, 32, 32, 3), np.float32))
