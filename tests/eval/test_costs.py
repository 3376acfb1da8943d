"""Costs: the paper's reference parameter and FLOP counts (SPEC §2, acceptance of the core issue)."""

from __future__ import annotations

import pytest

from fmas_hw.eval.costs import analytic_flops, arch_costs, count_params, model_flops, profiler_flops
from fmas_hw.model.builder import build_model
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from tests.conftest import random_genomes

XC = XceptionSpace()
MB = MobileNetV2Space()


@pytest.mark.slow
def test_xception_supernet_reference_counts():
    costs = arch_costs(XC.supernet(), input_size=513, classes=21)
    assert costs["params"] == pytest.approx(41.26e6, abs=0.01e6)
    assert costs["flops"] == pytest.approx(108.5e9, rel=0.01)


@pytest.mark.slow
def test_xception_fmas_p2_reference_counts():
    costs = arch_costs(XC.decode("0100001111111011011111"), input_size=513, classes=21)
    assert costs["params"] == pytest.approx(38.00e6, abs=0.01e6)
    assert costs["flops"] == pytest.approx(101.47e9, rel=0.01)


@pytest.mark.slow
def test_mobilenetv2_supernet_reference_counts():
    costs = arch_costs(MB.supernet(), input_size=384, classes=21)
    assert costs["params"] == pytest.approx(2.14e6, abs=0.01e6)
    assert costs["flops"] == pytest.approx(9.73e9, rel=0.01)


@pytest.mark.slow
def test_dropping_k_middle_blocks_removes_k_times_the_same_parameter_count():
    def params(blocks_bits):
        return count_params(build_model(XC.decode("010000" + blocks_bits), input_size=33, classes=21))

    full = params("1" * 16)
    one = params("1" * 15 + "0")
    three = params("1011101111111110")
    per_block = full - one
    assert per_block == pytest.approx(1.63e6, rel=0.01)  # SPEC: ≈1.63 M per middle block
    assert full - three == 3 * per_block


def test_flops_shrink_with_stride_and_depth_and_are_cached():
    small = "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100"
    full = arch_costs(MB.supernet(), 64, classes=5, alpha=0.35)
    reduced = arch_costs(MB.decode(small), 64, classes=5, alpha=0.35)
    assert reduced["flops"] < full["flops"] / 2 and reduced["params"] < full["params"]
    assert arch_costs(MB.supernet(), 64, classes=5, alpha=0.35) == full  # served from the cache


def test_flops_are_about_twice_the_macs():
    # A single 1x1 conv: profiler float_ops = 2 x MACs exactly (no BN, no bias).
    import tf_keras

    inp = tf_keras.Input((8, 8, 4))
    model = tf_keras.Model(inp, tf_keras.layers.Conv2D(6, 1, use_bias=False)(inp))
    assert profiler_flops(model) == 2 * 8 * 8 * 4 * 6



@pytest.mark.slow  # one TF-profiler run per genome
@pytest.mark.parametrize("genome", [
    MB.supernet_genome, "1111" + MB.supernet_genome[4:], "0011111111111" + MB.supernet_genome[13:],
    *random_genomes(MB, 3, 5)])
def test_analytic_flops_equal_the_profiler_for_mobilenetv2(genome):
    model = build_model(MB.decode(genome), input_size=77, classes=7, alpha=0.35)
    assert analytic_flops(model) == profiler_flops(model)


@pytest.mark.slow
@pytest.mark.parametrize("genome", ["0000000000000000000011", "1111111111111111111111", "1001100101010101010100"])
def test_analytic_flops_equal_the_profiler_for_xception(genome):
    model = build_model(XC.decode(genome), input_size=67, classes=3)
    assert analytic_flops(model) == profiler_flops(model)


@pytest.mark.slow
def test_profiler_itself_gives_the_mobilenetv2_reference():
    assert profiler_flops(build_model(MB.supernet(), 384, 21)) == pytest.approx(9.73e9, rel=0.01)


def test_unknown_layer_kind_falls_back_to_the_profiler():
    import tf_keras

    inp = tf_keras.Input((8, 8, 4))
    model = tf_keras.Model(inp, tf_keras.layers.MaxPooling2D()(inp))
    assert analytic_flops(model) is None
    assert model_flops(model) == profiler_flops(model)


def test_counting_a_candidate_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from fmas_hw.eval.costs import arch_costs; from fmas_hw.space import get_space; "
            "import fmas_hw.model.blocks, fmas_hw.model.netdef, fmas_hw.model.manifest; "
            "costs = arch_costs(get_space('mobilenetv2').supernet(), 384); "
            "assert 'tensorflow' not in sys.modules, 'counting imported TF'; print(costs['params'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert int(out) == 2_146_645  # what the Keras model counts (test_counting checks the equality)
