"""The simulated target: labelled estimates, a learnable perturbation, the whole project/log/parse/
calibrate path without an SDK, and a light project whose kernel table is a full export's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fmas_targets_testkit import render_run

from fmas_hw.cli.main import main
from fmas_hw.costmodel.calibrate import log_errors
from fmas_hw.costmodel.cycle_model import load_cycle_model, network_cycles
from fmas_hw.errors import ConfigError, MeasurementError, RunTimeoutError
from fmas_hw.gap8.arch_graph import arch_graph
from fmas_hw.gap8.candidate_file import CandidateSpec, read_candidate
from fmas_hw.gap8.codegen import CONST_ROLES
from fmas_hw.gap8.generated_projects import GeneratedProjects
from fmas_hw.gap8.kernel_table import constant_roles, write_light_project
from fmas_hw.gap8.memory import effective_nodes
from fmas_hw.gap8.project_writer import write_project
from fmas_hw.search.config import SearchConfig
from fmas_hw.search.measure.strategy import plan_measurement
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets import simulated
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.measurement import LayerCycles, Measurement
from fmas_hw.targets.project_records import RUN_LOG, latest_run_log, project_records
from fmas_hw.targets.protocol import parse_log
from fmas_hw.targets.registry import open_target, target_class, target_names
from fmas_hw.targets.simulated import Perturbation, SimulatedRunner, SimulatedTarget
from tests.conftest import random_genomes

MB = MobileNetV2Space()
GENOME = "0110" + "101" + "110110" + "10" + "101" + "1001" + "110" + "011"
TINY = CandidateSpec(MB.decode(GENOME), classes=5, alpha=0.35, input_size=64)
SUPERNET = CandidateSpec(MB.decode(MB.supernet_genome))  # 384 px, 21 classes


def _node_ratios(target: SimulatedTarget, spec: CandidateSpec) -> dict[str, float]:
    """True cycles over the unperturbed model's, per node that runs a kernel."""
    runner = target.runner
    features, _ = runner.estimate.features(spec.arch, spec.classes, spec.alpha, spec.input_size)
    base = dict(network_cycles(features, runner.estimate.model))
    true = runner.node_cycles(spec)
    return {f.name: true[f.name][0] / base[f.name] for f in features if f.runs}


def test_registered_as_simulated_and_labelled_an_estimate():
    assert "simulated" in target_names()
    cls = target_class("simulated")
    assert cls is SimulatedTarget and cls.title == "simulated GAP8"
    assert not cls.measures_hardware and cls.needs_project
    assert "tests and benchmarks only" in (cls.__doc__ or "") and "tests and benchmarks only" in cls.summary
    m = Measurement(10, [LayerCycles("a", 10)], 175_000_000, "simulated", True)
    assert m.label == "estimated (simulated)"
    with pytest.raises(MeasurementError, match="must be estimated=True"):
        SimulatedTarget().checked(Measurement(10, [], 175_000_000, "simulated", False))


def test_target_help_says_what_the_simulated_target_is_for(capsys):
    assert main(["measure", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "simulated, a simulated GAP8 for tests and benchmarks only" in text


def test_identity_names_the_model_the_perturbation_not_the_delay():
    identity = SimulatedTarget(spread=0.1, seed=3, delay_s_per_mcycle=0.5).identity()
    assert identity.startswith("simulated:gap8_cycle_model.toml@") and identity.endswith(",spread=0.1,seed=3")
    assert identity == SimulatedTarget(spread=0.1, seed=3).identity() != SimulatedTarget(spread=0.1).identity()


def test_truth_ignores_a_recalibrated_estimate(tmp_path, monkeypatch):
    refit = tmp_path / "refit.toml"
    refit.write_text(Path(load_cycle_model().source).read_text() + "# another model\n")
    monkeypatch.setenv("FMAS_CYCLE_MODEL", str(refit))
    assert open_target("simulated").identity() == SimulatedTarget().identity()
    assert "gap8_cycle_model.toml@" in SimulatedTarget().identity()


@pytest.mark.parametrize("kwargs", [{"spread": 1.0}, {"spread": -0.1}, {"delay_s_per_mcycle": -1.0}],
                         ids=["spread-1", "spread-negative", "delay-negative"])
def test_bad_settings_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        SimulatedTarget(**kwargs)


def test_cycles_are_deterministic_and_follow_the_seed():
    first, again = SimulatedTarget().true_cycles(SUPERNET), SimulatedTarget().true_cycles(SUPERNET)
    assert first == again
    assert SimulatedTarget(seed=1).true_cycles(SUPERNET) != first
    estimate = EstimateTarget().measure_candidate(SUPERNET).total_cycles
    assert SimulatedTarget(spread=0.0).true_cycles(SUPERNET) == estimate  # no perturbation: the model


def test_perturbation_differs_per_layer_within_the_spread_bounds():
    target = SimulatedTarget(spread=0.25)
    ratios = _node_ratios(target, SUPERNET)
    low, high = target.runner.perturbation.bounds()
    assert (low, high) == pytest.approx((0.875 / 1.25, 1.125 / 0.75))
    assert all(low - 1e-3 <= r <= high + 1e-3 for r in ratios.values()), ratios
    assert len({round(r, 3) for r in ratios.values()}) > len(ratios) // 2  # layer-dependent
    assert max(abs(r - 1) for r in ratios.values()) > 0.05
    narrow = SimulatedTarget(spread=0.02)
    assert all(0.97 < r < 1.03 for r in _node_ratios(narrow, SUPERNET).values())


def test_the_same_layer_configuration_gets_the_same_factor():
    nodes = effective_nodes(arch_graph(SUPERNET.arch))
    p = Perturbation(0.25, 0)
    by_config: dict[tuple, set[float]] = {}
    for n in nodes:
        config = (n.op, n.in_shape, n.out_shape, n.kernel, n.stride, n.dilation, n.interpolation)
        by_config.setdefault(config, set()).add(p.layer_factor(n))
    assert all(len(factors) == 1 for factors in by_config.values())
    assert any(len([n for n in nodes if (n.op, n.in_shape, n.out_shape) == c[:3]]) > 1 for c in by_config)
    assert len({f for fs in by_config.values() for f in fs}) == len(by_config)


def test_measurement_needs_a_project_source():
    with pytest.raises(ConfigError, match="work folder"):
        SimulatedTarget().measure_candidate(TINY)


def test_run_writes_a_protocol_log_that_parses_back(tmp_path):
    target = SimulatedTarget()
    m = target.measure_candidate(TINY, GeneratedProjects(tmp_path))
    project = tmp_path / TINY.arch.key
    log = Path(m.log_path or "")
    assert log.parent == project / "logs" and RUN_LOG.match(log.name) and log.name.startswith("simulated-")
    assert latest_run_log(project) == log
    assert m.source == "simulated" and m.estimated and m.label == "estimated (simulated)"
    assert m.total_cycles == parse_log(log).total_cycles == target.true_cycles(TINY)
    kernels = json.loads((project / "model" / "layers.json").read_text())
    assert [layer.name for layer in m.per_layer] == [k["name"] for k in kernels]
    # the lines are those the firmware's header formats render (the log's first line is a banner)
    lines = log.read_text().splitlines()
    rendered = render_run([(x.name, x.cycles, x.operations) for x in m.per_layer], model=TINY.arch.key,
                          freq=m.cluster_freq_hz, checksum=None)
    assert lines[1:] == [line.rstrip("\n") for line in rendered]
    assert {"simulator", "spread", "seed", "cycle_model", "fmas_protocol"} <= set(m.tool_versions)
    assert "no hardware" in m.tool_versions["simulator"]
    again = target.measure_candidate(TINY, GeneratedProjects(tmp_path))
    assert again.total_cycles == m.total_cycles and again.log_path != m.log_path  # logs are kept


def test_delay_is_asked_per_mcycle_and_the_timeout_holds(tmp_path, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(simulated.time, "sleep", slept.append)
    project = write_light_project(TINY, tmp_path / "p")
    m = SimulatedRunner(delay_s_per_mcycle=0.5).measure(project)
    assert slept == [pytest.approx(0.5 * m.total_cycles / 1e6)]
    slept.clear()
    SimulatedRunner().measure(project)
    assert slept == []  # no delay asked, no sleep
    limit = 0.25 * m.total_cycles / 1e6
    with pytest.raises(RunTimeoutError, match="over the"):
        SimulatedRunner(delay_s_per_mcycle=0.5).measure(project, timeout_s=limit)
    assert slept == [pytest.approx(limit)]


def test_unknown_nodes_in_the_kernel_table_are_refused(tmp_path):
    project = write_light_project(TINY, tmp_path / "p")
    table = project / "model" / "layers.json"
    rows = json.loads(table.read_text())
    rows[0]["ir"] = ["not_a_node"]
    table.write_text(json.dumps(rows))
    with pytest.raises(MeasurementError, match="regenerate the project"):
        SimulatedRunner().measure(project)


@pytest.fixture(scope="module")
def full_project(tiny_mnv2_supernet, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("full") / "candidate"
    return write_project(TINY.arch, tiny_mnv2_supernet, out, classes=5, alpha=0.35, input_size=64)


def test_light_kernel_table_is_the_full_exports(full_project, tmp_path):
    light = write_light_project(TINY, tmp_path / "light")
    full_rows = json.loads((full_project / "model" / "layers.json").read_text())
    light_rows = json.loads((light / "model" / "layers.json").read_text())
    assert [r["name"] for r in light_rows] == [r["name"] for r in full_rows]
    assert light_rows == [{k: v for k, v in r.items() if k not in ("in_scales", "out_scale")} for r in full_rows]
    assert read_candidate(light).spec == read_candidate(full_project).spec
    # the roles the light lowering assumes are the constants the full export wrote
    tensors = {p.stem for p in (full_project / "model" / "tensors").glob("*.tensor")}
    for row in full_rows:
        step = row["name"].split("_")[0]
        assert {t for t in tensors if t.split("_")[0] == step} == {
            f"{step}_{CONST_ROLES[role][0]}" for role in constant_roles(row["op"])}, row["name"]


def test_a_full_export_is_measured_as_it_is(full_project):
    kernels = json.loads((full_project / "model" / "layers.json").read_text())
    m = SimulatedRunner().measure(full_project)
    assert [layer.name for layer in m.per_layer] == [k["name"] for k in kernels]
    assert m.total_cycles == SimulatedTarget().true_cycles(TINY)
    assert (full_project / "Makefile").is_file()  # not replaced by a light project


def test_cli_measure_prints_the_simulated_label(capsys, tmp_path):
    code = main(["measure", "--target", "simulated", "--genome", MB.supernet_genome, "--work-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "estimated (simulated)" in out and "measured" not in out
    assert f"{SimulatedTarget().true_cycles(SUPERNET):,}" in out and str(tmp_path / SUPERNET.arch.key) in out
    assert main(["measure", "--target", "simulated", "--json", "--work-dir", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["source"] == "simulated" and data["estimated"] is True and data["label"] == "estimated (simulated)"


def test_calibrate_on_simulated_projects_reduces_the_estimates_error(tmp_path, capsys):
    target = SimulatedTarget()
    projects = GeneratedProjects(tmp_path / "work")
    specs = [CandidateSpec(MB.decode(g)) for g in random_genomes(MB, 4, seed=5)]
    for spec in specs:
        target.measure_candidate(spec, projects)
    folders = [projects.folder(s) for s in specs]
    out = tmp_path / "refit.toml"
    args = ["calibrate", *[a for f in folders[:3] for a in ("--project", str(f))], "--out", str(out)]
    assert main(args) == 0
    assert "not on hardware" in capsys.readouterr().err
    text = out.read_text()
    assert "# NOT FITTED ON HARDWARE" in text and load_cycle_model(out).name.endswith("+simulated")
    held_out = project_records(folders[3])  # a candidate the refit did not see
    before = float((log_errors(held_out, load_cycle_model()) ** 2).mean() ** 0.5)
    after = float((log_errors(held_out, load_cycle_model(out)) ** 2).mean() ** 0.5)
    assert after < 0.75 * before, (before, after)


def test_a_search_on_the_simulated_target_records_cycles_only_when_asked():
    target = SimulatedTarget()
    assert not plan_measurement(SearchConfig(target="simulated", objectives=("flops",)), target).orders.measured
    assert plan_measurement(SearchConfig(target="simulated", objectives=("latency",)), target).orders.measured
