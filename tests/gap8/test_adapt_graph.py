"""GAP8 adaptations keep the candidate's weights; the fused layer graph computes the same network."""

from __future__ import annotations

import numpy as np
import pytest
import tf_keras

from fmas_hw.errors import AdaptationError
from fmas_hw.gap8.adapt import adapt
from fmas_hw.gap8.execute import run_graph
from fmas_hw.gap8.graph import extract_graph
from fmas_hw.model.blocks import pool_factors
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace

MB = MobileNetV2Space()
GENOMES = {
    "supernet": MB.supernet_genome,
    "stride3-all": "1111" + MB.supernet_genome[4:],
    "stride2-dilated": "0011" + "111" + "111111" + MB.supernet_genome[13:],
    "minimal": "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100",
}
SIZE = 96


def _x(n=2):
    return np.random.default_rng(0).normal(size=(n, SIZE, SIZE, 3)).astype(np.float32)


def _intermediate(model, name, x):
    return tf_keras.Model(model.input, model.get_layer(name).output)(x, training=False).numpy()


@pytest.mark.parametrize("genome", GENOMES.values(), ids=GENOMES.keys())
def test_adapted_model_agrees_where_the_operation_is_unchanged(tiny_mnv2_supernet, genome):
    arch = MB.decode(genome)
    original = tiny_mnv2_supernet.subnet(arch, input_size=SIZE)
    adapted = adapt(arch, original, classes=5, alpha=0.35, input_size=SIZE).model
    x = _x()
    # Backbone and the pooled branch: identical computations (average-pool chain == global mean).
    for name in ("expanded_conv_16_project_BN", "image_pooling_relu", "logits_semantic"):
        np.testing.assert_allclose(_intermediate(adapted, name, x), _intermediate(original, name, x),
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    # Only the final upsampling method differs: the class maps mostly agree.
    agree = np.mean(np.argmax(adapted(x).numpy(), -1) == np.argmax(original(x).numpy(), -1))
    assert agree > 0.8


@pytest.mark.parametrize("genome", [GENOMES["supernet"], GENOMES["minimal"]], ids=["supernet", "minimal"])
def test_split_image_pooling_broadcast_keeps_the_output(tiny_mnv2_supernet, genome):
    """Adaptation 5: the 1x1 -> HxW upsampling becomes 1xW then Hx1, and its output is exactly the
    broadcast of the 1x1 map that the single upsampling (and the bilinear resize) computes."""
    arch = MB.decode(genome)
    adapted = adapt(arch, tiny_mnv2_supernet.model, classes=5, alpha=0.35, input_size=SIZE)
    first, second = (adapted.model.get_layer(n) for n in ("image_pooling_upsample_w", "image_pooling_upsample"))
    h, w = adapted.model.get_layer("aspp0").output_shape[1:3]
    assert (first.input_shape[1:3], first.size, second.size, second.output_shape[1:3]) == ((1, 1), (1, w), (h, 1), (h, w))
    assert not any(isinstance(lay, tf_keras.layers.UpSampling2D) and lay.input_shape[1:3] == (1, 1)
                   and min(lay.size) > 1 for lay in adapted.model.layers)
    assert any("image_pooling_upsample: 1x1 -> HxW upsampling split" in c for c in adapted.changes)
    x = _x()
    pooled = _intermediate(adapted.model, "image_pooling_relu", x)
    assert pooled.shape[1:3] == (1, 1)
    np.testing.assert_allclose(_intermediate(adapted.model, "image_pooling_upsample", x),
                               np.broadcast_to(pooled, (len(x), h, w, pooled.shape[3])), rtol=0, atol=0)


def test_adaptations_are_listed_and_use_integer_upsampling(tiny_mnv2_supernet):
    arch = MB.decode("1100" + MB.supernet_genome[4:])  # 384 -> 192 -> 64 -> 22: 384 / 22 is no integer
    adapted = adapt(arch, tiny_mnv2_supernet.model, classes=5, alpha=0.35, input_size=384)
    types = {type(layer).__name__ for layer in adapted.model.layers}
    assert "GlobalAveragePooling2D" not in types and "BilinearResize" not in types
    assert {"UpSampling2D", "AveragePooling2D"} <= types
    assert adapted.model.input_shape == (None, 384, 384, 3)
    assert any("cropped" in c for c in adapted.changes)
    with pytest.raises(AdaptationError, match="logits_upsample"):
        adapt(arch, tiny_mnv2_supernet.model, classes=5, alpha=0.35, allow_crop=False)


@pytest.mark.parametrize("n,expected", [(48, [8, 6]), (22, [2, 11]), (1, [1]), (13, [13]), (64, [8, 8])])
def test_pool_factors_multiply_back(n, expected):
    assert pool_factors(n) == expected and int(np.prod(pool_factors(n))) == n


def test_adapting_from_a_foreign_model_names_the_layer(tiny_mnv2_supernet):
    xception_like = tf_keras.Sequential([tf_keras.Input((8, 8, 3)), tf_keras.layers.Conv2D(4, 1, name="x")])
    with pytest.raises(AdaptationError, match="'Conv'"):
        adapt(MB.supernet(), xception_like, classes=5, alpha=0.35, input_size=64)


@pytest.mark.parametrize("genome", GENOMES.values(), ids=GENOMES.keys())
def test_fused_graph_computes_the_adapted_network(tiny_mnv2_supernet, genome):
    adapted = adapt(MB.decode(genome), tiny_mnv2_supernet.model, 5, 0.35, input_size=SIZE).model
    graph = extract_graph(adapted)
    x = _x(1)
    np.testing.assert_allclose(run_graph(graph, x), adapted(x, training=False).numpy(), atol=1e-4)
    kinds = {n.op for n in graph}
    assert "act" not in kinds  # every ReLU6 fused into its convolution
    assert all(n.keras_layers for n in graph)


def test_graph_folds_bn_relu_and_strided_dilated_depthwise(tiny_mnv2_supernet):
    adapted = adapt(MB.decode(GENOMES["stride2-dilated"]), tiny_mnv2_supernet.model, 5, 0.35, SIZE).model
    graph = extract_graph(adapted)
    dw13 = graph.node("expanded_conv_13_depthwise")
    assert dw13.stride == (2, 2) and dw13.dilation == (2, 2) and dw13.activation == "relu6"
    assert dw13.keras_layers == ["expanded_conv_13_depthwise", "expanded_conv_13_subsample",
                                 "expanded_conv_13_depthwise_BN", "expanded_conv_13_depthwise_relu"]
    assert graph.node("expanded_conv_14_add").inputs == ("expanded_conv_13_project", "expanded_conv_14_project")


def test_unadapted_model_is_refused_with_the_layer_name(tiny_mnv2_supernet):
    with pytest.raises(AdaptationError, match="image_pooling_gap.*adapt"):
        extract_graph(tiny_mnv2_supernet.model)


@pytest.mark.slow
def test_xception_adaptation_prunes_aspp_and_keeps_weights():
    arch = XceptionSpace().decode("0100000000000000000011")
    original = build_model(arch, 65, 3)
    adapted = adapt(arch, original, classes=3, input_size=65)
    names = {layer.name for layer in adapted.model.layers}
    assert not {"aspp1_depthwise", "aspp2_depthwise", "aspp3_depthwise"} & names
    kept = adapted.model.get_layer("concat_projection").get_weights()[0]
    np.testing.assert_array_equal(kept, original.get_layer("concat_projection").get_weights()[0][:, :, :512, :])
    graph = extract_graph(adapted.model)
    x = np.random.default_rng(0).normal(size=(1, 65, 65, 3)).astype(np.float32)
    np.testing.assert_allclose(run_graph(graph, x), adapted.model(x, training=False).numpy(), atol=1e-3)
