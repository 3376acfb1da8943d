"""Calibration from measured projects: run-log cycles joined with the model's layer features."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fmas_hw.cli.main import main
from fmas_hw.costmodel.calibrate import calibrate
from fmas_hw.costmodel.cycle_model import layer_cycles, load_cycle_model
from fmas_hw.costmodel.online_model import OnlineCycleModel
from fmas_hw.errors import MeasurementError
from fmas_hw.gap8.candidate_file import CandidateSpec
from fmas_hw.gap8.project_writer import write_project
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.project_records import latest_run_log, project_records

MB = MobileNetV2Space()
GENOME = "0110" + "101" + "110110" + "10" + "101" + "1001" + "110" + "011"


@pytest.fixture(scope="module")
def project(tiny_mnv2_supernet, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("measured") / "candidate"
    return write_project(MB.decode(GENOME), tiny_mnv2_supernet, out, classes=5, alpha=0.35, input_size=64)


def _kernels(project: Path) -> list[dict]:
    return json.loads((project / "model" / "layers.json").read_text())


def _true_cycles(project: Path, factor: float) -> dict[str, int]:
    """What 'the hardware' took per kernel: ``factor`` x the packaged model, per the kernel's node."""
    model = load_cycle_model()
    features, _ = EstimateTarget().features(MB.decode(GENOME), 5, 0.35, 64)
    by_node = {f.name: f for f in features}
    return {k["name"]: round(factor * model.scale * layer_cycles(by_node[k["ir"][0]], model.params))
            for k in _kernels(project)}


def _write_run_log(project: Path, name: str, cycles: dict[str, int], extra: tuple[str, ...] = ()) -> Path:
    names = [*cycles, *extra]
    lines = ["GVSOC launcher noise", "FMAS:BEGIN v=1 model=candidate"]
    lines += [f"FMAS:LAYER idx={i} name={n} cycles={cycles.get(n, 1000)} ops=64" for i, n in enumerate(names)]
    total = sum(cycles.get(n, 1000) for n in names)
    lines += [f"FMAS:TOTAL cycles={total} ops={64 * len(names)} freq_cl=175000000", f"FMAS:END status=0 layers={len(names)}"]
    path = project / "logs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_records_join_measured_cycles_with_the_features_of_the_same_layers(project):
    truth = _true_cycles(project, 1.7)
    log = _write_run_log(project, "gvsoc-20261125T080000Z.log", truth, extra=("S1_Op_input_1_formatter",))
    records = project_records(project, log)
    assert [r.features.name for r in records] == list(truth)  # the unknown formatter kernel is left out
    assert [r.cycles for r in records] == list(truth.values())
    # The right features for every kernel: a scale-only refit explains the log exactly.
    cal = calibrate(records, load_cycle_model(), scale_only=True)
    assert cal.model.scale == pytest.approx(1.7 * load_cycle_model().scale, rel=1e-3)
    assert cal.rms_log_error_after < 1e-3


def test_newest_run_log_is_read(project):
    older = _write_run_log(project, "board-20261125T090000Z.log", _true_cycles(project, 1.0))
    newer = _write_run_log(project, "gvsoc-20261125T090000Z-1.log", _true_cycles(project, 3.0))
    os.utime(older, (2e9, 2e9))  # a later modification time does not make a log newer
    assert latest_run_log(project) == newer


def test_cli_calibrates_from_measured_projects(project, tmp_path, capsys):
    _write_run_log(project, "gvsoc-20261125T230000Z.log", _true_cycles(project, 2.5))
    out = tmp_path / "refit.toml"
    assert main(["calibrate", "--project", str(project), "--scale-only", "--out", str(out)]) == 0
    assert load_cycle_model(out).scale == pytest.approx(2.5 * load_cycle_model().scale, rel=1e-3)
    assert "run logs of" in out.read_text()


def test_project_without_run_log_says_how_to_measure(tiny_mnv2_supernet, tmp_path):
    bare = write_project(MB.decode(GENOME), tiny_mnv2_supernet, tmp_path / "bare", classes=5, alpha=0.35,
                         input_size=64)
    with pytest.raises(MeasurementError, match="fmas-hw measure --target gvsoc"):
        project_records(bare)


def test_log_of_another_project_is_refused(project, tmp_path):
    log = _write_run_log(tmp_path, "gvsoc-20261125T080000Z.log", {"S9_Other": 10, "S12_Other": 20})
    with pytest.raises(MeasurementError, match="another project"):
        project_records(project, log)


def test_cli_needs_exactly_one_source(project, capsys):
    assert main(["calibrate"]) != 0
    assert "--measurements FILE or one or more --project DIR" in capsys.readouterr().err


def test_records_carry_the_layer_geometry_the_cycle_cache_keys_on(project):
    truth = _true_cycles(project, 1.3)
    _write_run_log(project, "gvsoc-20261126T080000Z.log", truth)
    online = OnlineCycleModel.from_file()
    online.observe(project_records(project), "gvsoc")
    spec = CandidateSpec(MB.decode(GENOME), classes=5, alpha=0.35, input_size=64)
    estimate = EstimateTarget(input_size=64, online=online).measure_candidate(spec)
    assert estimate.total_cycles == sum(truth.values())  # every layer from its measurement
    assert estimate.tool_versions["cache_layers"] == f"{len(truth)}/{len(truth)}"
