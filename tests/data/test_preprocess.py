"""DeepLab preprocessing: aspect-preserving resize, bottom/right padding, input scaling."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.data.preprocess import (
    INPUT_SCALING,
    fit_to_square,
    fitted_size,
    network_input,
    preprocess,
    scale_input,
)
from fmas_hw.errors import ConfigError


@pytest.mark.parametrize("hw, expected", [((20, 40), (16, 32)), ((40, 20), (32, 16)),
                                          ((32, 32), (32, 32)), ((1, 200), (1, 32)),
                                          ((64, 48), (32, 24))],
                         ids=["landscape", "portrait", "square", "sliver", "downscale"])
def test_longer_side_becomes_the_input_size(hw, expected):
    assert fitted_size(*hw, 32) == expected


def test_padding_is_mid_grey_and_ignore_label():
    image = np.full((20, 40, 3), 200, dtype=np.uint8)
    label = np.full((20, 40), 3, dtype=np.uint8)
    x, y = preprocess(image, label, 32, "xception")
    assert x.shape == (32, 32, 3) and x.dtype == np.float32
    assert y.shape == (32, 32) and y.dtype == np.uint8
    np.testing.assert_allclose(x[:16], 200 / 127.5 - 1, atol=1e-6)  # content, scaled
    assert np.all(x[16:] == 0.0)  # padding 127.5 -> exactly 0
    assert np.all(y[:16] == 3) and np.all(y[16:] == 255)


def test_labels_use_nearest_neighbour():
    label = np.zeros((10, 10), dtype=np.uint8)
    label[:, 5:] = 7
    label[0, 0] = 255
    _, fitted, _ = fit_to_square(np.zeros((10, 10, 3), np.uint8), label, 25)
    assert set(np.unique(fitted)) == {0, 7, 255}  # no blended values


def test_images_use_bilinear():
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[:, 1] = 255
    fitted, _, _ = fit_to_square(image, None, 8)
    assert len(np.unique(fitted[..., 0])) > 2  # intermediate values from interpolation


def test_scaling_table_covers_both_backbones():
    assert set(INPUT_SCALING) == {"xception", "mobilenetv2"}
    for backbone in INPUT_SCALING:
        np.testing.assert_allclose(scale_input(np.array([0.0, 127.5, 255.0]), backbone),
                                   [-1.0, 0.0, 1.0])
    with pytest.raises(ConfigError, match="resnet"):
        scale_input(np.zeros(1), "resnet")


def test_network_input_is_batched_and_masks_each_image():
    images = np.full((2, 4, 4, 3), 255, dtype=np.uint8)
    x = network_input(images, np.array([[4, 2], [1, 4]]), "mobilenetv2")
    assert x.shape == (2, 4, 4, 3) and x.dtype == np.float32
    assert np.all(x[0, :, :2] == 1.0) and np.all(x[0, :, 2:] == 0.0)
    assert np.all(x[1, :1] == 1.0) and np.all(x[1, 1:] == 0.0)
