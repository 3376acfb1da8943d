"""Builders: every genome builds and runs; layer names follow keras-deeplab-v3-plus."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace

MB = MobileNetV2Space()
XC = XceptionSpace()


def _mnv2_genomes():
    rng = np.random.default_rng(2023)
    edge = [
        MB.supernet_genome,
        "1111" + MB.supernet_genome[4:],                       # stride 3, 3, 2, 2 (+ dilations)
        "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100",  # minimal network
        "0011" + "111" + "111111" + MB.supernet_genome[13:],   # stride 2 with dilation 2/4
    ]
    return edge + ["".join("1" if b else "0" for b in MB.random_genome(rng)) for _ in range(8)]


@pytest.mark.parametrize("genome", _mnv2_genomes())
def test_every_mobilenetv2_genome_builds_and_runs(genome):
    model = build_model(MB.decode(genome), input_size=64, classes=5, alpha=0.35)
    out = model(np.zeros((1, 64, 64, 3), np.float32), training=False)
    assert out.shape == (1, 64, 64, 5)
    assert np.isfinite(out.numpy()).all()


@pytest.mark.slow
@pytest.mark.parametrize("genome", [
    "0000000000000000000000",  # entry stride 1, no middle block
    "1011110101010101010101",  # entry stride 3, middle rate 4, (2,4) exit, (12,24,36) ASPP
    "1101011111111111110000",  # entry stride 4, middle rate 2
], ids=["s1-no-middle", "s3-rate4", "s4-rate2"])
def test_xception_genomes_build_and_run_at_odd_input_sizes(genome):
    model = build_model(XC.decode(genome), input_size=67, classes=3)
    out = model(np.zeros((1, 67, 67, 3), np.float32), training=False)
    assert out.shape == (1, 67, 67, 3)


def test_model_config_round_trips():
    import tf_keras

    model = build_model(MB.decode("1111" + MB.supernet_genome[4:]), input_size=48, classes=4, alpha=0.35)
    clone = tf_keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(0).normal(size=(1, 48, 48, 3)).astype(np.float32)
    np.testing.assert_allclose(clone(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-5)


def _public_mobilenetv2_weight_layers():
    # Names of keras-deeplab-v3-plus's Deeplabv3(backbone='mobilenetv2') layers with weights.
    names = ["Conv", "Conv_BN", "expanded_conv_depthwise", "expanded_conv_depthwise_BN",
             "expanded_conv_project", "expanded_conv_project_BN"]
    for i in range(1, 17):
        names += [f"expanded_conv_{i}_{part}" for part in
                  ("expand", "expand_BN", "depthwise", "depthwise_BN", "project", "project_BN")]
    return names + ["image_pooling", "image_pooling_BN", "aspp0", "aspp0_BN", "concat_projection",
                    "concat_projection_BN", "logits_semantic"]


def _public_xception_weight_layers():
    def sep(prefix):
        return [f"{prefix}_depthwise", f"{prefix}_depthwise_BN", f"{prefix}_pointwise", f"{prefix}_pointwise_BN"]

    def block(prefix, shortcut):
        out = [n for i in range(1, 4) for n in sep(f"{prefix}_separable_conv{i}")]
        return out + ([f"{prefix}_shortcut", f"{prefix}_shortcut_BN"] if shortcut else [])

    names = ["entry_flow_conv1_1", "entry_flow_conv1_1_BN", "entry_flow_conv1_2", "entry_flow_conv1_2_BN"]
    for i in (1, 2, 3):
        names += block(f"entry_flow_block{i}", True)
    for i in range(1, 17):
        names += block(f"middle_flow_unit_{i}", False)
    names += block("exit_flow_block1", True) + block("exit_flow_block2", False)
    names += ["image_pooling", "image_pooling_BN", "aspp0", "aspp0_BN"]
    names += [n for i in (1, 2, 3) for n in sep(f"aspp{i}")]
    names += ["concat_projection", "concat_projection_BN", "feature_projection0", "feature_projection0_BN"]
    names += sep("decoder_conv0") + sep("decoder_conv1") + ["logits_semantic"]
    return names


def test_mobilenetv2_weight_layer_names_match_keras_deeplab_v3_plus():
    model = build_model(MB.supernet(), input_size=64, classes=21, alpha=1.0)
    ours = sorted(layer.name for layer in model.layers if layer.weights)
    assert ours == sorted(_public_mobilenetv2_weight_layers())


@pytest.mark.slow
def test_xception_weight_layer_names_match_keras_deeplab_v3_plus():
    model = build_model(XC.supernet(), input_size=65, classes=21)
    ours = sorted(layer.name for layer in model.layers if layer.weights)
    assert ours == sorted(_public_xception_weight_layers())


def test_every_layer_is_named_explicitly():
    model = build_model(MB.supernet(), input_size=32, classes=3, alpha=0.35)
    auto = [layer.name for layer in model.layers
            if any(layer.name.startswith(p) for p in ("re_lu", "add_", "concatenate", "dropout", "zero_padding"))]
    assert auto == []
