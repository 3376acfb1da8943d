"""A candidate's genes as Optuna categorical parameters: every backbone, every legal value, and
parameters that tell every pair of networks apart."""

from __future__ import annotations

import pytest

from fmas_hw.dashboard.params import backbones, distributions, gene_params
from fmas_hw.space import SPACES, get_space

from ..conftest import random_genomes


def test_every_backbone_names_its_genes():
    assert set(backbones()) == set(SPACES)


@pytest.mark.parametrize("backbone", sorted(SPACES))
def test_random_candidates_take_values_their_distributions_allow_and_are_told_apart(backbone):
    space, space_distributions = get_space(backbone), distributions(backbone)
    by_params: dict[tuple, str] = {}
    for genome in random_genomes(space, 1500, seed=3):
        arch = space.decode(genome)
        params = gene_params(arch)
        assert set(params) <= set(space_distributions)
        for name, value in params.items():
            assert value in space_distributions[name].choices, (name, value)
        assert by_params.setdefault(tuple(sorted(params.items())), arch.key) == arch.key, "two networks, one point"
    assert len(set(by_params.values())) == len(by_params)


def test_mobilenetv2_genes_read_as_the_network_they_build():
    space = get_space("mobilenetv2")
    arch = space.decode("1010000000000010100010000100")
    params = gene_params(arch)
    layers = {layer.block: layer for layer in arch.layers}
    assert params["stride_b01"] == layers[1].stride == 3 and params["stride_b13"] == layers[13].stride == 2
    assert {n for n, kept in params.items() if n.startswith("keep_") and kept} == {
        f"keep_b{b:02d}" for b in layers if b not in (0, 1, 3, 6, 10, 13, 16)}
    assert {n for n in params if n.startswith("dilation_")} == {f"dilation_b{b:02d}" for b in layers if b >= 11}


def test_xception_supernet_keeps_every_middle_block():
    params = gene_params(get_space("xception").supernet())
    assert params["entry_stride"] == 2 and params["exit_rates"] == "1,2" and params["aspp_rates"] == "6,12,18"
    assert all(params[f"keep_m{b:02d}"] for b in range(1, 17)) and "middle_rate" in params
