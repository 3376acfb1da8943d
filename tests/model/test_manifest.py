"""The weights' manifest: the network settings it gives, and where each setting came from."""

from __future__ import annotations

import pytest

from fmas_hw.errors import WeightsError
from fmas_hw.model.manifest import network_settings, write_manifest


def test_given_values_win_then_the_manifest_then_the_defaults(tmp_path):
    weights = tmp_path / "w.h5"
    write_manifest(weights, {"backbone": "mobilenetv2", "classes": 8, "input_size": 96})  # no alpha
    net = network_settings(weights, "mobilenetv2", None, None, 128, 384)
    assert (net.input_size, net.classes, net.alpha) == (128, 8, 1.0)
    assert net.sources == {"input_size": "given", "classes": "manifest", "alpha": "default"}
    assert net.describe() == (f"input 128 px (as given); 8 classes (from the manifest {tmp_path / 'w.json'}); "
                              f"alpha 1.0 (default: the manifest {tmp_path / 'w.json'} does not say)")
    public = tmp_path / "voc.h5"  # e.g. the public keras-deeplab-v3-plus weights: no manifest
    assert network_settings(public, "mobilenetv2", 21, None, None, 384).describe() == (
        f"input 384 px, alpha 1.0 (default: {public} has no manifest); 21 classes (as given)")


def test_without_weights_every_setting_says_it_is_the_default():
    net = network_settings(None, "xception", None, None, None, 513)
    assert (net.input_size, net.classes, net.alpha, net.manifest) == (513, 21, 1.0, None)
    assert net.describe(("classes",)) == "21 classes (default: no --weights, whose manifest would give them)"


def test_a_manifest_of_another_backbone_is_refused(tmp_path):
    weights = tmp_path / "w.h5"
    write_manifest(weights, {"backbone": "mobilenetv2", "classes": 8})
    with pytest.raises(WeightsError, match="holds a mobilenetv2 supernet, not xception"):
        network_settings(weights, "xception", None, None, None, 513)
