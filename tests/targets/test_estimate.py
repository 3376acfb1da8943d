"""The ``estimate`` target: the 2189 M anchor, hardware-like ranking, the Target interface."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import pytest

from fmas_hw.costmodel.cycle_model import (
    LayerFeatures,
    layer_cycles,
    load_cycle_model,
    rescaled,
    write_cycle_model,
)
from fmas_hw.errors import ConfigError, MeasurementError
from fmas_hw.gap8.arch_graph import arch_graph
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.registry import get_target

MB = MobileNetV2Space()
SUPER = MB.supernet_genome
TINY = dict(classes=5, alpha=0.35)
TINY_SIZE = 96
ANCHOR_CYCLES = 2189e6  # SPEC §6.3 (ref)
# (more expensive, cheaper): the second removes a layer, raises a stride or lowers a dilation.
CHEAPER = {
    "remove-96ch-layer": (SUPER, SUPER[:13] + "11" + "111" + "1111" + "101" + "111"),
    "remove-160ch-layer": (SUPER, SUPER[:13] + "11" + "111" + "1111" + "111" + "110"),
    "stride-24ch-3": (SUPER, "1" + SUPER[1:]),
    "stride-32ch-3": (SUPER, "01" + SUPER[2:]),
    "stride-160ch-2": (SUPER, "0010" + SUPER[4:]),
    "stride-320-2": (SUPER, "0001" + SUPER[4:]),
    "dilation-11-13-to-1": (SUPER, "0000" + "000" + SUPER[7:]),
    "dilation-14-16-4-to-3": (SUPER, "0000111" + "101010" + SUPER[13:]),
}


@pytest.fixture(scope="module")
def tiny() -> EstimateTarget:
    return EstimateTarget(input_size=TINY_SIZE)


def _cycles(target: EstimateTarget, genome: str) -> int:
    return target.estimate_arch(MB.decode(genome), **TINY).total_cycles


def test_calibration_anchor_supernet_is_2189_m_cycles():
    target = EstimateTarget()
    m = target.estimate_arch(MB.supernet(), classes=21, alpha=1.0)
    assert abs(m.total_cycles / ANCHOR_CYCLES - 1) < 0.05, m.total_cycles
    assert (m.source, m.estimated, m.label) == ("estimate", True, "estimated (estimate)")
    assert m.cluster_freq_hz == 175_000_000 and 12_000 < m.latency_ms < 13_000
    names = [n.name for n in arch_graph(MB.supernet()) if n.op != "concat"]
    assert [layer.name for layer in m.per_layer] == names
    assert sum(layer.cycles for layer in m.per_layer) == m.total_cycles
    assert m.tool_versions["cycle_model"] and float(m.tool_versions["scale"]) > 0
    # the full-size graph is cached now: the model itself must stay under 50 ms per candidate
    best = min(_timed(lambda: target.estimate_arch(MB.supernet())) for _ in range(5))
    assert best < 0.05, f"{best * 1000:.1f} ms"


def test_registered_and_needs_nothing_installed():
    target = get_target("estimate")
    assert isinstance(target, EstimateTarget) and not target.measures_hardware


@pytest.mark.parametrize("pair", CHEAPER.values(), ids=CHEAPER.keys())
def test_smaller_networks_never_take_more_cycles(tiny, pair):
    costly, cheap = (_cycles(tiny, g) for g in pair)
    assert cheap <= costly


def test_not_flops_alone_dilation_costs_cycles_at_equal_macs(tiny):
    dilated, plain = (MB.decode(g) for g in CHEAPER["dilation-11-13-to-1"])
    size = dict(**TINY, input_size=TINY_SIZE)
    assert arch_graph(dilated, **size).macs == arch_graph(plain, **size).macs
    assert tiny.estimate_arch(dilated, **TINY).total_cycles > tiny.estimate_arch(plain, **TINY).total_cycles


def _feature(**kw) -> LayerFeatures:
    base = dict(name="n", kind="depthwise", ops=2_000_000, in_channels=96, out_channels=96, tiles=20,
                l1_bytes=300_000)
    return LayerFeatures(**{**base, **kw})


P = load_cycle_model().params


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_larger_dilation_never_lowers_depthwise_cycles(stride):
    costs = [layer_cycles(_feature(stride=stride, dilation=d), P) for d in (1, 2, 3, 4)]
    assert costs == sorted(costs) and costs[1] > costs[0]


def test_a_depthwise_mac_costs_more_than_a_pointwise_mac():
    dw = layer_cycles(_feature(), P)
    pw = layer_cycles(_feature(kind="conv"), P)
    assert dw > 2 * pw


def test_memory_traffic_costs_cycles_at_equal_macs():
    # an element-wise layer is memory-bound: spilling its operands to L3 shows
    on_chip = layer_cycles(_feature(kind="add", ops=200_000), P)
    spilled = layer_cycles(_feature(kind="add", ops=200_000, l3_bytes=600_000), P)
    assert spilled > 1.5 * on_chip
    # even a compute-bound layer pays the exposed part of its L3 traffic
    assert layer_cycles(_feature(kind="conv", l3_bytes=400_000), P) > layer_cycles(_feature(kind="conv"), P)


def test_more_ops_tiles_or_bytes_never_fewer_cycles():
    base = layer_cycles(_feature(), P)
    for change in (dict(ops=3_000_000), dict(tiles=40), dict(l1_bytes=900_000), dict(l3_bytes=10)):
        assert layer_cycles(_feature(**change), P) >= base, change


def test_estimate_of_a_built_candidate_takes_under_50_ms(tiny):
    arch = MB.decode(SUPER)
    tiny.estimate_arch(arch, **TINY)  # builds and caches the graph
    best = min(_timed(lambda: tiny.estimate_arch(arch, **TINY)) for _ in range(5))
    assert best < 0.05, f"{best * 1000:.1f} ms"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _candidate(tmp_path, **changes):
    data = {"backbone": "mobilenetv2", "genome": SUPER, **TINY, "input_size": TINY_SIZE, **changes}
    (tmp_path / "candidate.json").write_text(json.dumps(data))
    return tmp_path


def test_measure_a_project_reads_candidate_json(tiny, tmp_path):
    m = get_target("estimate").measure_project(_candidate(tmp_path))
    assert m.total_cycles == _cycles(tiny, SUPER)
    log = json.loads((tmp_path / "logs" / "estimate.json").read_text())
    assert m.log_path.endswith("estimate.json") and log["measurement"]["total_cycles"] == m.total_cycles
    assert {f["kind"] for f in log["features"]} >= {"conv", "depthwise", "add", "upsample"}


@pytest.mark.parametrize("content, match", [
    (None, "candidate.json not found"),
    ("{not json", "not readable JSON"),
    (json.dumps({"backbone": "mobilenetv2", "genome": SUPER}), "lacks classes, alpha"),
    (json.dumps({"backbone": "mobilenetv2", "genome": "01", "classes": 5, "alpha": 1}), "genome"),
], ids=["missing", "bad-json", "missing-keys", "bad-genome"])
def test_bad_candidate_json_says_what_to_do(tmp_path, content, match):
    if content is not None:
        (tmp_path / "candidate.json").write_text(content)
    with pytest.raises(MeasurementError, match=match):
        EstimateTarget().measure_project(tmp_path)


def test_a_refitted_model_file_and_the_env_override(tiny, tmp_path, monkeypatch):
    base = load_cycle_model()
    double = write_cycle_model(replace(base, scale=2 * base.scale), tmp_path / "double.toml")
    arch = MB.decode(SUPER)
    ref = tiny.estimate_arch(arch, **TINY).total_cycles
    assert EstimateTarget(model_file=double, input_size=TINY_SIZE).estimate_arch(arch, **TINY).total_cycles == \
        pytest.approx(2 * ref, rel=1e-3)
    monkeypatch.setenv("FMAS_CYCLE_MODEL", str(double))
    assert EstimateTarget().model.scale == pytest.approx(2 * base.scale)
    # rescaling the constants together with the scale changes nothing
    same = write_cycle_model(rescaled(base, 1.0), tmp_path / "unit.toml")
    assert EstimateTarget(model_file=same, input_size=TINY_SIZE).estimate_arch(arch, **TINY).total_cycles == \
        pytest.approx(ref, rel=1e-6)


def test_a_broken_model_file_is_a_config_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("schema = 1\n[model]\nscale = 1.0\n[compute]\nconv_peak_macs_per_cycle = -1\n")
    with pytest.raises(ConfigError, match="conv_peak_macs_per_cycle must be a positive number"):
        EstimateTarget(model_file=bad)
    with pytest.raises(ConfigError, match="cannot read the cycle model"):
        EstimateTarget(model_file=tmp_path / "absent.toml")


def test_layers_without_a_kernel_cost_nothing():
    assert layer_cycles(_feature(kind="concat"), P) == 0
    assert layer_cycles(_feature(kind="crop", runs=False), P) == 0
    assert layer_cycles(_feature(kind="crop"), P) > 0
