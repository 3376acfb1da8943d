"""Int8 TFLite export: integer-only files, dilations NNTool can read, fidelity, errors.

The networks and images are those of ``export_models``; the files are read back with
``tflite_reading``.
"""

from __future__ import annotations

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from fmas_hw.errors import ExportError
from fmas_hw.gap8.tflite_export import export_tflite_int8

from .export_models import blob_images, candidate_model, dilated_model
from .tflite_reading import (
    argmax_agreement,
    assert_no_space_to_batch,
    depthwise_geometry,
    space_to_batch_layers,
    tflite_op_summary,
    tflite_predict,
)

#: Int8 argmax agreement bound for the random-weight candidate; see test_int8_agreement.
MIN_AGREEMENT = 0.6
MIN_LOGIT_CORRELATION = 0.9


@pytest.fixture(scope="module")
def calibration_images():
    return blob_images(16, seed=1)


@pytest.fixture(scope="module")
def test_images():
    return blob_images(8, seed=2)


@pytest.fixture(scope="module")
def candidate(tiny_mnv2_supernet, calibration_images):
    return candidate_model(tiny_mnv2_supernet, calibration_images)


@pytest.fixture(scope="module")
def int8_file(candidate, calibration_images, tmp_path_factory):
    return export_tflite_int8(candidate, calibration_images, tmp_path_factory.mktemp("tflite") / "c.tflite")


# -- int8 TFLite ---------------------------------------------------------------------------------

def test_int8_export_is_integer_only(int8_file):
    interpreter = Interpreter(model_path=str(int8_file))
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


def test_unfolded_export_is_rejected_naming_the_layers(tmp_path):
    model = dilated_model()
    path = export_tflite_int8(model, np.random.default_rng(0).normal(size=(4, 16, 16, 8)).astype(np.float32),
                              tmp_path / "raw.tflite", fold_dilations=False)
    assert "SPACE_TO_BATCH_ND" in tflite_op_summary(path)
    assert space_to_batch_layers(path) == ["conv_d2", "dw_d2", "dw_s2_d4", "dw_valid_d2"]
    with pytest.raises(ExportError, match=r"conv_d2, dw_d2, dw_s2_d4.*NNTool 4.22 refuses to import.*fold_dilations=True"):
        assert_no_space_to_batch(path)


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


# -- reading the file back (tflite_reading) ------------------------------------------------------

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
