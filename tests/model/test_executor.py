"""The search space as one traced function: one trace, controls, refusals, folded weights.

That every candidate's logits equal its Keras sub-network's is checked with the other
interpreters of the network definition, in ``test_netdef_interpreters.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.errors import ArchitectureError, WeightsError
from fmas_hw.model.executor import SwitchableSupernet
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch
from tests.conftest import random_genomes

MB, XC = MobileNetV2Space(), XceptionSpace()


@pytest.fixture(scope="module")
def mnv2_net(tiny_mnv2_supernet):
    return SwitchableSupernet(tiny_mnv2_supernet)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(3).uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)


def test_one_trace_serves_every_candidate(mnv2_net, images):
    mnv2_net.forward(images, mnv2_net.controls(MB.supernet()))
    traced = mnv2_net._forward.experimental_get_tracing_count()
    for genome in random_genomes(MB, 4, 8):
        mnv2_net.forward(images, mnv2_net.controls(MB.decode(genome)))
    assert mnv2_net._forward.experimental_get_tracing_count() == traced == 1


def test_distinct_candidates_give_distinct_outputs(mnv2_net, images):
    genomes = (MB.supernet_genome, "1111" + MB.supernet_genome[4:])
    a, b = (mnv2_net.forward(images, mnv2_net.controls(MB.decode(g))).numpy() for g in genomes)
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
