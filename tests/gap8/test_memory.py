"""The GAP8 memory plan: sizes, liveness with stacked concatenations, spilling, tiles, the verdict."""

from __future__ import annotations

import numpy as np
import pytest

from fmas_hw.gap8.arch_graph import arch_graph, fits_gap8
from fmas_hw.gap8.graph import Gap8Graph, Node
from fmas_hw.gap8.memory import (
    Budgets,
    merged_crops,
    min_tile_bytes,
    plan_memory,
    weight_bytes,
)
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()
SUPER = MB.supernet_genome
TINY = dict(classes=5, alpha=0.35, input_size=96)

# (bigger network, smaller network): the second is the first with a layer removed or a stride
# raised, so it never needs more memory.
SHRINKS = {
    "remove-64ch-layer": (SUPER, SUPER[:13] + "11" + "111" + "1011" + "111" + "111"),
    "one-layer-per-group": (SUPER, SUPER[:13] + "10" + "100" + "1000" + "100" + "100"),
    "stride-24ch-3": (SUPER, "1" + SUPER[1:]),
    "stride-160ch-2": (SUPER, "0010" + SUPER[4:]),
    "stride-320-2": ("0010" + SUPER[4:], "0011" + SUPER[4:]),
}


def _tiny_plan(genome: str):
    return plan_memory(arch_graph(MB.decode(genome), **TINY))


def _conv(name, inp, in_shape, out_shape, kernel=(1, 1), dilation=(1, 1), op="conv", padding=(0, 0, 0, 0)):
    cin = 1 if op == "depthwise" else in_shape[2]
    w = np.broadcast_to(np.float32(0), (*kernel, cin, 1 if op == "depthwise" else out_shape[2]))
    return Node(name, op, (inp,), in_shape, out_shape, kernel, (1, 1), dilation, padding,
                weights=w, bias=np.broadcast_to(np.float32(0), (out_shape[2],)))


def test_budgets_follow_greenwaves_formulas():
    b = Budgets.from_hw()
    assert b.l1 == 64_000 - 4096 - 7 * 1024  # model_decl.mk MODEL_L1_MEMORY
    assert b.l2_total == 400_000 and b.l2 == 400_000 - 2 * b.l1
    assert b.l3_ram == 8_000_000 and b.l3_flash == 64 * 1024 * 1024


def test_sizes_and_minimal_tile_of_a_pointwise_layer():
    node = _conv("pw", "input", (48, 48, 960), (48, 48, 160))
    assert weight_bytes(node) == 960 * 160 + 160 * (4 + 1 + 1)  # int8 filters + bias/scale/shift
    # the open route's smallest 1x1 tile (a matrix product): one pixel of all 960 input channels
    # (double-buffered), the weights of one output channel, its bias/scale/shift (4-byte
    # aligned), the kernel's column buffer (4 x 960 + 16), one output byte (double-buffered,
    # aligned) and Infos
    assert min_tile_bytes(node) == 2 * 960 + 960 + 3 * 4 + (4 * 960 + 16) + 2 * 4 + 16


def test_supernet_fits_with_activations_spilled_to_l3():
    plan = plan_memory(arch_graph(MB.supernet()))
    assert plan.fits, plan.reason
    assert plan.peak_activation_bytes > plan.budgets.l2 and plan.spilled
    assert plan.l2_activation_peak <= plan.budgets.l2
    assert "spilled to L3" in plan.reason and plan.reason.startswith("fits")
    assert 2.0e6 < plan.weight_bytes < 2.3e6  # 2.1 M parameters as int8 + per-channel data
    assert sum(r.l3_bytes for r in plan.layers) > 0
    assert fits_gap8(MB.supernet()) == (True, plan.reason)


def test_concatenation_is_a_stacked_tensor():
    plan = _tiny_plan(SUPER)
    row = plan.row("aspp_concat")
    assert row.tile is None and row.min_tile_bytes == 0 and row.l3_bytes == 0
    assert "aspp0" not in plan.spilled and "image_pooling_upsample" not in plan.spilled


@pytest.mark.parametrize("pair", SHRINKS.values(), ids=SHRINKS.keys())
def test_smaller_networks_never_need_more_memory(pair):
    big, small = (_tiny_plan(g) for g in pair)
    assert small.weight_bytes <= big.weight_bytes
    assert small.peak_activation_bytes <= big.peak_activation_bytes
    assert small.max_min_tile.min_tile_bytes <= big.max_min_tile.min_tile_bytes


def test_activations_over_l2_are_spilled_and_read_back_from_l3():
    a = _conv("a", "input", (64, 64, 8), (64, 64, 64))
    b = _conv("b", "a", (64, 64, 64), (64, 64, 8))
    graph = Gap8Graph([a, b], (64, 64, 8), "b")
    budgets = Budgets(l1=52_736, l2=200_000, l2_total=300_000, l3_ram=8_000_000, l3_flash=1 << 26)
    plan = plan_memory(graph, budgets)
    assert plan.spilled == ["a"] and plan.fits  # 256 KB tensor > 200 KB: spilled, still runs
    assert plan.row("a").out_l3_bytes == 64 * 64 * 64 and plan.row("b").in_l3_bytes == 64 * 64 * 64


def test_huge_weights_fail_with_the_budget_and_the_excess():
    big = _conv("huge", "input", (16, 16, 2048), (16, 16, 2048), kernel=(3, 3))
    fits, reason = _verdict(Gap8Graph([big], (16, 16, 2048), "huge"))
    assert not fits
    assert "L3" in reason and "HyperRAM" in reason and "exceed" in reason and "by" in reason


def test_a_row_too_wide_for_l1_fails_naming_the_layer():
    wide = _conv("wide_dw", "input", (8, 20_000, 64), (8, 20_000, 64), kernel=(3, 3), dilation=(4, 4),
                 op="depthwise", padding=(4, 4, 4, 4))
    fits, reason = _verdict(Gap8Graph([wide], (8, 20_000, 64), "wide_dw"))
    assert not fits and "L1: layer 'wide_dw' needs a minimal tile" in reason


def _verdict(graph):
    plan = plan_memory(graph)
    return plan.fits, plan.reason


def test_plan_serialises_to_json():
    import json

    data = _tiny_plan(SUPER).to_dict()
    assert json.loads(json.dumps(data))["layers"][0]["name"] == "Conv"


def test_a_crop_after_a_resize_is_merged_into_it():
    logits = _conv("logits", "input", (22, 22, 8), (22, 22, 21))
    up = Node("up", "upsample", ("logits",), (22, 22, 21), (396, 396, 21), stride=(18, 18),
              interpolation="bilinear")
    crop = Node("crop", "crop", ("up",), (396, 396, 21), (384, 384, 21), crop=(0, 12, 0, 12))
    graph = Gap8Graph([logits, up, crop], (22, 22, 8), "crop")
    assert merged_crops(graph) == {"crop": "up"}
    plan = plan_memory(graph)
    assert plan.row("crop").merged_into == "up" and plan.row("crop").tile is None
    assert plan.row("up").out_bytes == 384 * 384 * 21  # the resize writes the cropped size
    assert plan.peak_activation_bytes == 22 * 22 * 21 + 384 * 384 * 21
