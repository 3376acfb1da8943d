"""Keras-free parameter and FLOP counts equal the counts of the built Keras model."""

from __future__ import annotations

import pytest

from fmas_hw.errors import ArchitectureError
from fmas_hw.eval.costs import analytic_flops, count_params
from fmas_hw.eval.counting import count_costs
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch
from tests.conftest import random_genomes

MB, XC = MobileNetV2Space(), XceptionSpace()



def _keras_counts(arch, size, classes, alpha=1.0):
    model = build_model(arch, size, classes, alpha)
    return {"params": count_params(model), "flops": analytic_flops(model)}


@pytest.mark.parametrize("size", [64, 97])
@pytest.mark.parametrize("genome", [MB.supernet_genome, "1111" + "000" + "000000" + MB.supernet_genome[13:],
                                    *random_genomes(MB, 4, 13)])
def test_mobilenetv2_counts_equal_the_keras_model(genome, size):
    arch = MB.decode(genome)
    assert count_costs(arch, size, classes=7, alpha=0.35) == _keras_counts(arch, size, 7, 0.35)


@pytest.mark.slow
@pytest.mark.parametrize("genome", [XC.supernet_genome, "0000000000000000000000", "1111111111011111111111",
                                    *random_genomes(XC, 3, 2)])
def test_xception_counts_equal_the_keras_model(genome):
    arch = XC.decode(genome)
    assert count_costs(arch, 65, classes=3) == _keras_counts(arch, 65, 3)


@pytest.mark.slow
@pytest.mark.parametrize(("space", "genome", "size", "params", "flops"), [
    (XC, XC.supernet_genome, 513, 41_258_213, 108_505_169_549),
    (XC, "0100001111111011011111", 513, 38_004_053, 101_473_052_093),
    (MB, MB.supernet_genome, 384, 2_146_645, 9_733_661_376),
], ids=["xception-supernet", "fmas-p2", "mobilenetv2-supernet"])
def test_reference_networks_count_the_same_with_and_without_keras(space, genome, size, params, flops):
    arch = space.decode(genome)
    assert count_costs(arch, size) == _keras_counts(arch, size, 21) == {"params": params, "flops": flops}


def test_architecture_outside_the_search_space_is_not_counted_silently():
    layers = list(MB.supernet().layers)
    layers[5] = Layer(5, stride=1, dilation=3)  # block 5 has no dilation gene
    with pytest.raises(ArchitectureError):
        count_costs(MobileNetV2Arch(tuple(layers)), 64)
