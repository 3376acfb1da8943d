"""The Target interface, Measurement records and the target registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import serial.tools.list_ports

from fmas_hw.errors import ConfigError, DeviceNotFoundError, MeasurementError, SdkMissingError
from fmas_hw.gap8.candidate_file import CandidateSpec
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets import registry
from fmas_hw.targets.base import ProjectTarget
from fmas_hw.targets.hardware_settings import BoardSettings
from fmas_hw.targets.measurement import LayerCycles, Measurement
from fmas_hw.targets.options import TargetOptions
from fmas_hw.targets.registry import (
    get_target,
    open_target,
    target_class,
    target_names,
)
from fmas_hw.targets.runner import ProjectRunner


def _measurement(**overrides) -> Measurement:
    values = dict(
        total_cycles=350_000_000,
        per_layer=[LayerCycles("S1_Conv", 200_000_000, 10), LayerCycles("S2_Add", 150_000_000, 5)],
        cluster_freq_hz=175_000_000,
        source="gvsoc",
        estimated=False,
        tool_versions={"gap_sdk": "release-v4.12.0", "autotiler": "4.3.2"},
        log_path="/p/logs/gvsoc-1.log",
        checksum=0xDEADBEEF,
    )
    values.update(overrides)
    return Measurement(**values)


def test_measurement_json_round_trip() -> None:
    m = _measurement()
    again = Measurement.from_dict(json.loads(json.dumps(m.to_dict())))
    assert again == m
    assert again.latency_ms == pytest.approx(2000.0)
    assert again.total_operations == 15


@pytest.mark.parametrize(
    ("source", "estimated", "label"),
    [("estimate", True, "estimated (estimate)"), ("gvsoc", False, "measured (gvsoc)"),
     ("board", False, "measured (board)")],
    ids=["estimate", "gvsoc", "board"],
)
def test_label_says_where_figures_come_from(source: str, estimated: bool, label: str) -> None:
    assert _measurement(source=source, estimated=estimated).label == label


@pytest.mark.parametrize(
    "overrides", [{"source": ""}, {"total_cycles": -1}, {"cluster_freq_hz": 0}],
    ids=["no-source", "negative-cycles", "zero-clock"],
)
def test_invalid_measurements_are_rejected(overrides: dict) -> None:
    with pytest.raises(MeasurementError):
        _measurement(**overrides)


@pytest.mark.parametrize(
    ("target", "overrides", "message"),
    [("estimate", {"source": "estimate", "estimated": False}, "must be estimated=True"),
     ("estimate", {"source": "fpga"}, "labelled 'fpga'"),
     ("gvsoc", {"source": "board"}, "labelled 'board'")],
    ids=["estimate-as-measurement", "unknown-source", "another-target"],
)
def test_figures_enter_only_under_their_own_honest_label(target: str, overrides: dict, message: str) -> None:
    with pytest.raises(MeasurementError, match=message):
        open_target(target).checked(_measurement(**overrides))
    assert open_target("gvsoc").checked(_measurement()) == _measurement()


def test_from_dict_rejects_other_schema_and_missing_fields() -> None:
    data = _measurement().to_dict()
    with pytest.raises(MeasurementError, match="schema 99"):
        Measurement.from_dict({**data, "schema": 99})
    del data["source"]
    with pytest.raises(MeasurementError, match="source"):
        Measurement.from_dict(data)


def test_total_operations_unknown_when_a_layer_lacks_them() -> None:
    m = _measurement(per_layer=[LayerCycles("a", 1, None), LayerCycles("b", 2, 3)])
    assert m.total_operations is None
    assert LayerCycles("b", 2, 3).ops_per_cycle == 1.5
    assert LayerCycles("z", 0, 3).ops_per_cycle is None


class _RecordingRunner(ProjectRunner):
    name = "recorder"
    title = "recorder"

    def __init__(self, factor: int = 1) -> None:
        self.calls: list[str] = []
        self.factor = factor

    def prepare(self, project_dir: str | Path) -> None:
        self.calls.append(f"prepare {Path(project_dir).name}")

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        self.calls.append(f"run {timeout_s}")
        return _measurement(source="recorder", estimated=True, total_cycles=self.factor)


class _RecordingTarget(ProjectTarget):
    name = "recorder"
    title = "recorder"
    measures_hardware = False

    def identity(self) -> str:
        return "recorder:1"


class _Folders:
    """A project source that generates nothing: a folder per candidate key."""

    def folder(self, spec: CandidateSpec) -> Path:
        return Path("/projects") / spec.arch.key

    project_for = folder


def test_measure_is_prepare_then_run() -> None:
    runner = _RecordingRunner(factor=7)
    assert runner.measure("/nowhere", timeout_s=3).total_cycles == 7
    assert runner.calls == ["prepare nowhere", "run 3"]


def test_a_project_target_runs_the_candidates_project_with_its_runner() -> None:
    spec = CandidateSpec(MobileNetV2Space().supernet())
    target = _RecordingTarget(_RecordingRunner(factor=5))
    assert target.measure_candidate(spec, _Folders(), timeout_s=2).total_cycles == 5
    assert target.runner.calls == [f"prepare {spec.arch.key}", "run 2"]  # type: ignore[attr-defined]
    assert target.measure_project("/p/x").total_cycles == 5 and target.on_port("/dev/ttyUSB0") is target


def test_registry_knows_every_target_once() -> None:
    assert target_names() == ("estimate", "gvsoc", "board", "simulated")
    assert get_target("gvsoc").name == "gvsoc"
    assert get_target("board", settings=BoardSettings.from_hw(port="/dev/ttyUSB1")).needs_exclusive_device
    assert [target_class(n).measures_hardware for n in target_names()] == [False, True, True, False]
    assert [target_class(n).needs_project for n in target_names()] == [False, True, True, True]
    assert all(target_class(n).summary for n in target_names())
    with pytest.raises(TypeError, match="does not support item assignment"):
        registry.TARGETS["double"] = _RecordingTarget  # type: ignore[index]  # fixed: pass instances instead
    assert "double" not in target_names()


def test_targets_take_the_command_line_settings_that_concern_them(tmp_path: Path) -> None:
    model = tmp_path / "model.toml"
    model.write_text(Path(target_class("estimate")().model.source).read_text())
    options = TargetOptions(cycle_model=str(model), port="/dev/ttyUSB1")
    assert open_target("estimate", options).identity().startswith("estimate:model.toml@")
    assert open_target("board", options).settings.port == "/dev/ttyUSB1"  # type: ignore[attr-defined]
    assert open_target("gvsoc", options).name == "gvsoc"


def test_identities_name_what_decides_the_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    estimate = open_target("estimate").identity()
    assert estimate.startswith("estimate:gap8_cycle_model.toml@") and len(estimate.split("@")[1]) == 12
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    for name in ("gvsoc", "board"):
        assert open_target(name).identity() == f"{name}:gap_sdk=unknown,route=open,backend=open-1,protocol=1"
        assert get_target(name, route="autotiler").identity() == \
            f"{name}:gap_sdk=unknown,route=autotiler,autotiler=unknown,protocol=1"


def test_identity_of_a_hardware_target_follows_the_sdk(tmp_path: Path) -> None:
    makefile = tmp_path / "tools" / "autotiler_v3" / "Makefile"
    makefile.parent.mkdir(parents=True)
    makefile.write_text("TILER_VER=4.3.0\n")
    gvsoc = get_target("gvsoc", env={"GAP_SDK_HOME": str(tmp_path)}, route="autotiler")
    assert "autotiler=4.3.0" in gvsoc.identity()
    makefile.write_text("TILER_VER=4.4.0\n")
    assert "autotiler=4.4.0" in gvsoc.identity()


def test_estimate_measures_a_candidate_without_a_project() -> None:
    spec = CandidateSpec(MobileNetV2Space().supernet())
    measured = open_target("estimate").measure_candidate(spec)
    assert measured.label == "estimated (estimate)" and measured.total_cycles > 1e9


def test_a_hardware_target_needs_somewhere_to_put_the_project() -> None:
    with pytest.raises(ConfigError, match="work folder"):
        open_target("gvsoc").measure_candidate(CandidateSpec(MobileNetV2Space().supernet()))


def test_unknown_target_and_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="choose one of .*gvsoc"):
        get_target("fpga")
    with pytest.raises(ConfigError, match="invalid options for target 'gvsoc'"):
        get_target("gvsoc", port="/dev/ttyUSB1")


def test_the_estimate_is_always_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    open_target("estimate").check_ready()  # needs nothing installed


@pytest.mark.parametrize("name", ["gvsoc", "board"])
def test_a_hardware_target_is_not_ready_without_the_sdk(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GAP_SDK_HOME", "GAP_RISCV_GCC_TOOLCHAIN"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SdkMissingError, match="GAP_SDK_HOME is not set"):
        open_target(name, TargetOptions(port="/dev/null")).check_ready()


def test_gvsoc_is_ready_with_the_sdk(fake_sdk: Path) -> None:
    open_target("gvsoc").check_ready()


def test_the_board_is_ready_only_with_its_port(fake_sdk: Path, board, monkeypatch: pytest.MonkeyPatch) -> None:
    open_target("board", TargetOptions(port=board.port)).check_ready()
    monkeypatch.setattr(serial.tools.list_ports, "comports", lambda *a, **k: [])
    with pytest.raises(DeviceNotFoundError, match="serial port /dev/ttyNOPE9 does not exist"):
        open_target("board", TargetOptions(port="/dev/ttyNOPE9")).check_ready()
    with pytest.raises(DeviceNotFoundError, match="no serial port with USB id"):
        open_target("board").check_ready()  # no port given and no board plugged in
