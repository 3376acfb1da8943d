"""The Target interface, Measurement records and the target registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmas_hw.errors import ConfigError, MeasurementError
from fmas_hw.targets import base
from fmas_hw.targets.base import LayerCycles, Measurement, Target, get_target


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
    "overrides",
    [{"source": "estimate", "estimated": False}, {"source": "fpga"}, {"total_cycles": -1},
     {"cluster_freq_hz": 0}],
    ids=["estimate-as-measurement", "unknown-source", "negative-cycles", "zero-clock"],
)
def test_invalid_measurements_are_rejected(overrides: dict) -> None:
    with pytest.raises(MeasurementError):
        _measurement(**overrides)


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


class _Recorder(Target):
    name = "recorder"
    measures_hardware = False

    def __init__(self, factor: int = 1) -> None:
        self.calls: list[str] = []
        self.factor = factor

    def prepare(self, project_dir: str | Path) -> None:
        self.calls.append("prepare")

    def run(self, project_dir: str | Path, timeout_s: float | None = None) -> Measurement:
        self.calls.append(f"run {timeout_s}")
        return _measurement(source="estimate", estimated=True, total_cycles=self.factor)


def test_measure_is_prepare_then_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    base.register_target("recorder", _Recorder)  # one line per target
    target = get_target("recorder", factor=7)
    assert target.measure("/nowhere", timeout_s=3).total_cycles == 7
    assert target.calls == ["prepare", "run 3"]


def test_registry_knows_gvsoc_and_board_lazily() -> None:
    assert {"gvsoc", "board"} <= set(base.available_targets())
    assert get_target("gvsoc").name == "gvsoc"
    assert get_target("board", port="/dev/ttyUSB1").needs_exclusive_device


def test_unknown_target_and_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="choose one of .*gvsoc"):
        get_target("fpga")
    with pytest.raises(ConfigError, match="invalid options for target 'gvsoc'"):
        get_target("gvsoc", port="/dev/ttyUSB1")
