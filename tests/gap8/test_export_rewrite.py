"""The conversion-only rewrite: dilations kept on one operator, exact in float, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import tf_keras

from fmas_hw.errors import ExportError
from fmas_hw.gap8.export_rewrite import prepare_for_export

from .export_models import dilated_model
from .tflite_reading import float_tflite

L = tf_keras.layers


def test_rewrite_matches_keras_exactly_in_float():
    model = dilated_model()
    x = np.random.default_rng(1).normal(size=(1, 16, 16, 8)).astype(np.float32)
    got, ops = float_tflite(prepare_for_export(model), x)
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-4)
    assert not ops & {"SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND", "STRIDED_SLICE", "MUL"}


def test_model_without_dilations_is_not_rewritten():
    inputs = L.Input((8, 8, 3))
    model = tf_keras.Model(inputs, L.DepthwiseConv2D(3, padding="same")(inputs))
    assert prepare_for_export(model) is model


def test_subclassed_model_with_dilations_is_refused():
    class Net(tf_keras.Model):
        def __init__(self):
            super().__init__()
            self.dw = L.DepthwiseConv2D(3, dilation_rate=2, padding="same")

        def call(self, x):
            return self.dw(x)

    net = Net()
    net(np.zeros((1, 8, 8, 3), np.float32))
    with pytest.raises(ExportError, match="functional"):
        prepare_for_export(net)
