"""Search spaces: bit layouts of SPEC §2, canonical keys, repair and validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmas_hw.errors import ConfigError, GenomeError
from fmas_hw.space import MobileNetV2Space, XceptionArch, XceptionSpace, get_space

XC = XceptionSpace()
MB = MobileNetV2Space()


def test_xception_supernet_genome_decodes_to_paper_supernet():
    arch = XC.decode("0100001111111111111111")
    assert arch == XceptionArch()
    assert (arch.entry_stride, arch.middle_rate, arch.exit_rates, arch.aspp_rates) == (2, 1, (1, 2), (6, 12, 18))
    assert arch.middle_blocks == tuple(range(1, 17))


def test_xception_spec_example_entry_stride3_blocks_1_to_13():
    arch = XC.decode("1000001111111111111000")
    assert arch.entry_stride == 3 and arch.middle_blocks == tuple(range(1, 14))


def test_xception_fmas_p2_drops_blocks_8_and_11():
    arch = XC.decode("0100001111111011011111")
    assert [b for b in range(1, 17) if b not in arch.middle_blocks] == [8, 11]


@pytest.mark.parametrize("bits,expected", [
    ("00", 1), ("01", 2), ("10", 3), ("11", 4)], ids=["s1", "s2", "s3", "s4"])
def test_xception_multi_valued_genes_are_msb_first_indices(bits, expected):
    genome = bits + "1110" + "1" * 16
    arch = XC.decode(genome)
    assert arch.entry_stride == expected
    assert arch.middle_rate == 4 and arch.exit_rates == (2, 4) and arch.aspp_rates == (6, 12, 18)


def test_mobilenetv2_supernet_genome_matches_keras_deeplab_supernet():
    arch = MB.decode("0000111111111111111111111111")
    assert arch.blocks == tuple(range(17))
    strides = {layer.block: layer.stride for layer in arch.layers}
    dilations = {layer.block: layer.dilation for layer in arch.layers}
    assert strides[1] == strides[3] == 2 and strides[13] == strides[16] == 1
    assert [dilations[k] for k in (11, 12, 13)] == [2, 2, 2]
    assert [dilations[k] for k in (14, 15, 16)] == [4, 4, 4]


def test_mobilenetv2_gene_values():
    genome = "1111" + "000" + "00" + "01" + "10" + "11" + "111" + "1111" + "111" + "111"
    arch = MB.decode(genome[:13] + "11" + genome[15:])
    layer = {lay.block: lay for lay in arch.layers}
    assert (layer[1].stride, layer[3].stride, layer[13].stride, layer[16].stride) == (3, 3, 2, 2)
    assert (layer[11].dilation, layer[12].dilation, layer[13].dilation) == (1, 1, 1)
    assert (layer[14].dilation, layer[15].dilation, layer[16].dilation) == (1, 2, 3)


def test_first_kept_layer_runs_with_the_group_first_weights():
    # 32-ch group keeps only its 3rd layer: the network runs block 3 (the group's first).
    genome = MB.supernet_genome[:15] + "001" + MB.supernet_genome[18:]
    assert MB.decode(genome).blocks == tuple(b for b in range(17) if b not in (4, 5))


def test_genomes_decoding_to_same_network_share_the_key():
    a = MB.supernet_genome[:15] + "011" + MB.supernet_genome[18:]
    b = MB.supernet_genome[:15] + "101" + MB.supernet_genome[18:]
    assert a != b and MB.decode(a).key == MB.decode(b).key
    # Dilation genes of layers that are left out change nothing either.
    c = MB.supernet_genome[:4] + "000" + MB.supernet_genome[7:22] + "100" + MB.supernet_genome[25:]
    d = MB.supernet_genome[:4] + "111" + MB.supernet_genome[7:22] + "100" + MB.supernet_genome[25:]
    assert MB.decode(c).key != MB.decode(d).key  # block 13's dilation differs and block 13 runs
    e = MB.supernet_genome[:4] + "001" + MB.supernet_genome[7:22] + "100" + MB.supernet_genome[25:]
    f = MB.supernet_genome[:4] + "111" + MB.supernet_genome[7:22] + "100" + MB.supernet_genome[25:]
    assert MB.decode(e).key == MB.decode(f).key  # blocks 11 and 12 are left out


def test_xception_middle_rate_irrelevant_without_middle_blocks():
    assert XC.decode("0100000000000000000000").key == XC.decode("0111000000000000000000").key


def test_all_zero_group_decodes_like_first_layer_kept_and_repair_sets_it():
    zero = MB.supernet_genome[:13] + "00" + MB.supernet_genome[15:]
    first = MB.supernet_genome[:13] + "10" + MB.supernet_genome[15:]
    assert MB.decode(zero) == MB.decode(first)
    repaired = MB.repair(MB.parse(zero))
    assert "".join("1" if b else "0" for b in repaired) == first


@pytest.mark.parametrize("genome,fragment", [
    ("010000111111111111111", "21 bits, expected 22"),
    ("01000011111111111111112", "'2'"),
    ("0100001111111111111x11", "'x'"),
    ("", "0 bits"),
], ids=["short", "long-and-bad-char", "bad-char", "empty"])
def test_user_genomes_are_validated_strictly(genome, fragment):
    with pytest.raises(GenomeError, match="xception") as info:
        XC.decode(genome)
    assert fragment in str(info.value)


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ConfigError, match="resnet"):
        get_space("resnet")


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_bit_string_decodes_and_round_trips(data):
    for space in (XC, MB):
        bits = data.draw(st.lists(st.booleans(), min_size=space.n_bits, max_size=space.n_bits))
        arch = space.decode(bits)
        canonical = space.encode(arch)
        assert space.decode(canonical) == arch
        assert space.encode(space.decode(canonical)) == canonical
        assert type(arch).from_dict(arch.to_dict()) == arch


def test_random_genomes_are_repaired_and_reproducible():
    g1 = [MB.random_genome(np.random.default_rng(7)) for _ in range(3)]
    g2 = [MB.random_genome(np.random.default_rng(7)) for _ in range(3)]
    assert all((a == b).all() for a, b in zip(g1, g2, strict=False))
    rng = np.random.default_rng(0)
    for _ in range(200):
        bits = MB.random_genome(rng)
        for start, n in ((13, 2), (15, 3), (18, 4), (22, 3), (25, 3)):
            assert bits[start:start + n].any()
