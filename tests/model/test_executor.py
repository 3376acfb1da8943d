"""The search space as one traced function: every candidate equals its Keras sub-network."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fmas_hw.errors import ArchitectureError, WeightsError
from fmas_hw.model.executor import SwitchableSupernet
from fmas_hw.model.supernet import Supernet
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch
from tests.conftest import random_genomes, randomize_weights

MB, XC = MobileNetV2Space(), XceptionSpace()



@pytest.fixture(scope="module")
def mnv2_net(tiny_mnv2_supernet):
    return SwitchableSupernet(tiny_mnv2_supernet)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)


MB_GENOMES = [MB.supernet_genome, "1111" + MB.supernet_genome[4:], "0000" + "000" + "000000" + MB.supernet_genome[13:],
              "0011" + "111" + "111111" + "10" + "100" + "1000" + "100" + "100", *random_genomes(MB, 6, 21)]


@pytest.mark.parametrize("genome", MB_GENOMES)
def test_mobilenetv2_candidate_logits_equal_the_keras_subnetwork(tiny_mnv2_supernet, mnv2_net, images, genome):
    arch = MB.decode(genome)
    ours = mnv2_net.forward(images, mnv2_net.controls(arch)).numpy()
    keras = tiny_mnv2_supernet.subnet(arch)(images, training=False).numpy()
    assert ours.shape == keras.shape == (2, 64, 64, 5)
    # BatchNorm folded into the kernels only reorders float rounding.
    np.testing.assert_allclose(ours, keras, rtol=1e-4, atol=1e-5 * np.abs(keras).max())


def test_one_trace_serves_every_candidate(mnv2_net, images):
    mnv2_net.forward(images, mnv2_net.controls(MB.supernet()))
    traced = mnv2_net._forward.experimental_get_tracing_count()
    for genome in random_genomes(MB, 4, 8):
        mnv2_net.forward(images, mnv2_net.controls(MB.decode(genome)))
    assert mnv2_net._forward.experimental_get_tracing_count() == traced == 1


def test_distinct_candidates_give_distinct_outputs(mnv2_net, images):
    a, b = (mnv2_net.forward(images, mnv2_net.controls(MB.decode(g))).numpy() for g in MB_GENOMES[:2])
    assert not np.allclose(a, b)


def test_controls_of_equal_architectures_are_equal(mnv2_net):
    # Two genomes decoding to the same network (first kept layer takes the group's first role).
    a = MB.decode("0000111111111" + "01" + "111" + "1111" + "111" + "111")
    b = MB.decode("0000111111111" + "10" + "111" + "1111" + "111" + "111")
    np.testing.assert_array_equal(mnv2_net.controls(a), mnv2_net.controls(b))


def test_architecture_outside_the_search_space_is_refused_clearly(mnv2_net):
    supernet_layers = list(MB.supernet().layers)
    supernet_layers[3] = Layer(3, stride=2, dilation=3)  # block 3 has no dilation gene
    with pytest.raises(ArchitectureError, match="Keras builder"):
        mnv2_net.controls(MobileNetV2Arch(tuple(supernet_layers)))


def test_candidate_of_another_backbone_is_refused(mnv2_net):
    with pytest.raises(WeightsError, match="xception"):
        mnv2_net.controls(XC.supernet())


def test_weights_are_a_snapshot_of_the_supernet_with_batchnorm_folded(tiny_mnv2_supernet, mnv2_net):
    kernel, bias = mnv2_net.weights.conv("Conv", norm=True)
    layer, bn = tiny_mnv2_supernet.model.get_layer("Conv"), tiny_mnv2_supernet.model.get_layer("Conv_BN")
    scale = bn.gamma.numpy() / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
    np.testing.assert_allclose(kernel.numpy(), layer.kernel.numpy() * scale, rtol=1e-6)
    np.testing.assert_allclose(bias.numpy(), bn.beta.numpy() - bn.moving_mean.numpy() * scale, rtol=1e-5, atol=1e-7)
    with pytest.raises(WeightsError, match="BatchNormalization"):
        mnv2_net.weights.conv("logits_semantic", norm=True)


@pytest.mark.slow
def test_xception_candidates_equal_the_keras_subnetworks():
    supernet = Supernet.build("xception", input_size=48, classes=3)
    randomize_weights(supernet.model, seed=4)
    net = SwitchableSupernet(supernet)
    x = np.random.default_rng(5).uniform(-1, 1, (1, 48, 48, 3)).astype(np.float32)
    # Every gene's every value appears at least once.
    for genome in (XC.supernet_genome, "0000000000000000000000", "1111111111011111111111",
                   "1001100111111111111111", "0110011010101010101010", *random_genomes(XC, 2, 6)):
        arch = XC.decode(genome)
        ours = net.forward(x, net.controls(arch)).numpy()
        keras = supernet.subnet(arch)(x, training=False).numpy()
        np.testing.assert_allclose(ours, keras, rtol=1e-4, atol=1e-5 * np.abs(keras).max(), err_msg=genome)
    assert net._forward.experimental_get_tracing_count() == 1
    tf.keras.backend.clear_session()
