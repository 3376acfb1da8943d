"""Weight files: by-name loading in the keras-deeplab-v3-plus HDF5 layout, and clear failures."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from fmas_hw.errors import WeightsError
from fmas_hw.model.builder import build_model
from fmas_hw.model.supernet import Supernet
from fmas_hw.model.weights import check_weight_file, load_weights, save_weights
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


def _write_public_layout(model, path):
    """Write ``model``'s weights with h5py exactly as Keras 2 / keras-deeplab-v3-plus files are laid out."""
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [layer.name.encode() for layer in model.layers]
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name.split('/')[-1]}".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights(), strict=False):
                group.create_dataset(name.decode(), data=value)


def test_public_layout_file_loads_by_name(tmp_path, tiny_mnv2_supernet):
    path = tmp_path / "deeplabv3_mobilenetv2_tf_dim_ordering_tf_kernels.h5"
    _write_public_layout(tiny_mnv2_supernet.model, path)
    fresh = Supernet.build("mobilenetv2", input_size=64, classes=5, alpha=0.35, weights=path)
    x = np.random.default_rng(0).normal(size=(1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_array_equal(fresh.model(x, training=False).numpy(),
                                  tiny_mnv2_supernet.model(x, training=False).numpy())


def test_saved_weights_round_trip_and_load_into_a_candidate(tmp_path, tiny_mnv2_supernet):
    path = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, path)
    candidate = build_model(MB.decode("0000111111111" + "10" + "100" + "1000" + "100" + "100"), 64, 5, 0.35)
    load_weights(candidate, path)  # file layers the candidate lacks are ignored
    ref = tiny_mnv2_supernet.subnet(MB.decode("0000111111111" + "10" + "100" + "1000" + "100" + "100"))
    for a, b in zip(candidate.get_weights(), ref.get_weights(), strict=False):
        np.testing.assert_array_equal(a, b)


def test_width_mismatch_names_first_offending_layer_and_shapes(tmp_path, tiny_mnv2_supernet):
    path = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, path)
    other = build_model(MB.supernet(), 64, 5, alpha=1.0)
    with pytest.raises(WeightsError) as info:
        load_weights(other, path)
    message = str(info.value)
    assert "layer 'Conv' expects weight shapes [(3, 3, 3, 32)]" in message
    assert "the file holds [(3, 3, 3, 16)]" in message


def test_class_count_mismatch_is_reported_on_logits(tmp_path, tiny_mnv2_supernet):
    path = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, path)
    with pytest.raises(WeightsError, match="logits_semantic"):
        Supernet.build("mobilenetv2", input_size=64, classes=21, alpha=0.35, weights=path)


def test_foreign_backbone_file_names_a_missing_layer(tmp_path, tiny_mnv2_supernet):
    path = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, path)
    from fmas_hw.space import XceptionSpace

    xception = build_model(XceptionSpace().decode("0100000000000000000000"), 33, 5)
    with pytest.raises(WeightsError, match="no weights for layer 'entry_flow_conv1_1'"):
        load_weights(xception, path)


@pytest.mark.parametrize("content", [b"not an hdf5 file", b""], ids=["garbage", "empty"])
def test_non_hdf5_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="bad.h5"):
        load_weights(build_model(MB.supernet(), 32, 3, 0.35), path)


def test_hdf5_without_keras_layout_is_a_clear_error(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(WeightsError, match="not a Keras weight file"):
        load_weights(build_model(MB.supernet(), 32, 3, 0.35), path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(build_model(MB.supernet(), 32, 3, 0.35), tmp_path / "nope.h5")


def test_the_cheap_check_accepts_a_weight_file_and_names_what_is_wrong_with_others(tmp_path, tiny_mnv2_weights):
    check_weight_file(tiny_mnv2_weights)
    other, garbage = tmp_path / "other.h5", tmp_path / "garbage.h5"
    with h5py.File(other, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    garbage.write_bytes(b"not an hdf5 file")
    for path, message in ((other, "not a Keras weight file"), (garbage, "cannot read weight file"),
                          (tmp_path / "nope.h5", "does not exist")):
        with pytest.raises(WeightsError, match=message):
            check_weight_file(path)
