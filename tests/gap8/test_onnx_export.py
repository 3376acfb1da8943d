"""Float ONNX export: the file onnx.checker accepts computes what the Keras candidate does."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.gap8.onnx_export import export_onnx

from .export_models import blob_images, candidate_model


@pytest.fixture(scope="module")
def test_images():
    return blob_images(8, seed=2)


@pytest.fixture(scope="module")
def candidate(tiny_mnv2_supernet):
    return candidate_model(tiny_mnv2_supernet, blob_images(16, seed=1))


def test_onnx_export_matches_keras(candidate, test_images, tmp_path):
    import onnx
    import onnxruntime as ort

    path = export_onnx(candidate, tmp_path / "c.onnx")
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    got = np.concatenate([session.run(None, {name: test_images[i: i + 1]})[0] for i in range(3)])
    np.testing.assert_allclose(got, candidate.predict(test_images[:3], verbose=0), atol=1e-3)
