"""The gvsoc target: make commands, recorded GVSoC logs in every format, failures, live run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fmas_targets_testkit import FIXTURES, LAYERS, render_run

from fmas_hw.errors import BuildError, MeasurementError, RunTimeoutError, SdkMissingError
from fmas_hw.targets.gvsoc import GvsocRunner
from fmas_hw.targets.hardware_settings import GvsocSettings
from fmas_hw.targets.measurement import Measurement
from fmas_hw.targets.protocol import FirmwareStatusError
from fmas_hw.targets.run_result import TimerNotStartedError
from fmas_hw.toolchain import project_build
from fmas_hw.toolchain.sdk_env import check_sdk

#: The smallest candidate of the space: its project builds and runs in a short GVSoC session.
LIVE_GENOME = "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100"


def live_project(supernet, folder: Path) -> Path:
    """A small project of the tiny supernet (64 px), whose model/expected.json the run is checked
    against."""
    from fmas_hw.gap8.project_writer import write_project
    from fmas_hw.space import MobileNetV2Space

    return write_project(MobileNetV2Space().decode(LIVE_GENOME), supernet, folder / "live",
                         classes=5, alpha=0.35, input_size=64)


def _args_seen(tmp_path: Path) -> list[str]:
    return (tmp_path / "make-args.txt").read_text().splitlines()


def test_exact_argv_of_build_and_run(fake_sdk: Path, project: Path, monkeypatch) -> None:
    seen: list[list[str]] = []

    def fake_run_logged(argv, log_path, timeout_s, env=None, what=""):
        seen.append(list(argv))
        Path(log_path).write_text((FIXTURES / "gvsoc_fmas.log").read_text())
        return 0

    monkeypatch.setattr(project_build, "run_logged", fake_run_logged)
    target = GvsocRunner()
    target.measure(project)
    config = fake_sdk / "configs" / "gapuino_v3.sh"
    assert seen == [
        ["bash", "-c", f"source {config} && cd {project} && make clean all platform=gvsoc"],
        ["bash", "-c", f"source {config} && cd {project} && make run platform=gvsoc"],
    ]


def test_make_really_runs_in_project_with_sdk_sourced(fake_sdk, project, tmp_path, monkeypatch):
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_fmas.log"))
    GvsocRunner(GvsocSettings.from_hw(build_args=["build", "platform=gvsoc"])).prepare(project)
    assert _args_seen(tmp_path) == [str(project), "build", "platform=gvsoc"]
    build_log = next((project / "logs").glob("gvsoc-build-*.log"))
    assert "config sourced: yes" in build_log.read_text()


@pytest.mark.parametrize(
    ("fixture", "fmt", "checksum"),
    [("gvsoc_at_old.log", "autotiler-old", None), ("gvsoc_at_new.log", "autotiler-new", None),
     ("gvsoc_fmas.log", "fmas", 0x5A17C0DE)],
    ids=["autotiler-old", "autotiler-new", "fmas"],
)
def test_run_parses_recorded_output(fake_sdk, project, monkeypatch, fixture, fmt, checksum):
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / fixture))
    m = GvsocRunner().run(project, timeout_s=30)
    assert (m.source, m.estimated, m.label) == ("gvsoc", False, "measured (gvsoc)")
    assert m.total_cycles == 47_356_715 and len(m.per_layer) == 10
    assert m.cluster_freq_hz == 175_000_000  # from the firmware line or hw/gap8.toml
    assert m.latency_ms == pytest.approx(47_356_715 / 175e3)
    assert m.checksum == checksum
    assert m.tool_versions["output_format"] == fmt and m.tool_versions["autotiler"] == "4.3.5"
    log = Path(m.log_path)
    assert log.parent == project / "logs" and log.name.startswith("gvsoc-")
    assert "Launching GVSOC with command:" in log.read_text()  # full log kept


def test_configured_clock_used_when_output_has_none(fake_sdk, project, monkeypatch):
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_at_old.log"))
    assert GvsocRunner(GvsocSettings.from_hw(cluster_freq_hz=50_000_000)).run(project).cluster_freq_hz == 50_000_000


def test_all_zero_output_is_rejected_with_log(fake_sdk, project, monkeypatch):
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_at_zero.log"))
    with pytest.raises(TimerNotStartedError, match=r"gap_cl_starttimer.*\(log: .*gvsoc-"):
        GvsocRunner().run(project)


def test_failed_run_reports_firmware_status(fake_sdk, project, tmp_path, monkeypatch):
    out = tmp_path / "status.log"
    out.write_text("Launching GVSOC with command:\n" + "".join(render_run([], status=3)))
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(out))
    monkeypatch.setenv("FMAS_FAKE_STATUS", "3")
    with pytest.raises(FirmwareStatusError, match="status 3: .*512 KB L2"):
        GvsocRunner().run(project)


def test_failed_run_without_status_is_a_build_error(fake_sdk, project, tmp_path, monkeypatch):
    out = tmp_path / "crash.log"
    out.write_text("".join(render_run(LAYERS)[:2]) + "GVSOC: core 0 exception: illegal instruction\n")
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(out))
    monkeypatch.setenv("FMAS_FAKE_STATUS", "1")
    with pytest.raises(BuildError, match=r"(?s)'make run platform=gvsoc' exited with status 1.*illegal"):
        GvsocRunner().run(project)


def test_sdk_missing_before_anything_runs(project, monkeypatch) -> None:
    monkeypatch.delenv("GAP_SDK_HOME", raising=False)
    with pytest.raises(SdkMissingError, match="(?s)GAP_SDK_HOME is not set.*Dockerfile.gapsdk"):
        GvsocRunner().prepare(project)
    with pytest.raises(SdkMissingError, match="GAP_SDK_HOME"):
        GvsocRunner().run(project)
    assert not (project / "logs").exists()


def test_run_timeout(fake_sdk, project, monkeypatch) -> None:
    monkeypatch.setenv("FMAS_FAKE_SLEEP", "30")
    monkeypatch.setenv("FMAS_FAKE_CHILD", str(project / "child.pid"))
    with pytest.raises(RunTimeoutError, match="GVSoC run did not finish within 0.3 s"):
        GvsocRunner().run(project, timeout_s=0.3)


@pytest.mark.parametrize(("expected", "ok"), [(0x5A17C0DE, True), (0x12345678, False), (None, None)],
                         ids=["same", "different", "no-expected-file"])
def test_measured_checksum_is_compared_with_the_expected_one(fake_sdk, project, monkeypatch, caplog,
                                                             expected, ok):
    if expected is not None:
        (project / "model").mkdir()
        (project / "model" / "expected.json").write_text(json.dumps({"output_checksum": expected}))
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_fmas.log"))
    m = GvsocRunner().run(project, timeout_s=30)
    assert (m.checksum, m.expected_checksum, m.output_ok) == (0x5A17C0DE, expected, ok)
    assert Measurement.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    warned = [r.getMessage() for r in caplog.records if "differs from the expected" in r.getMessage()]
    assert warned == ([f"output checksum 0x5a17c0de differs from the expected 0x12345678 (host int8 "
                       f"reference): the firmware did not compute the exported network; see {m.log_path}"]
                      if ok is False else [])


def test_unreadable_expected_file_is_a_measurement_error(fake_sdk, project, monkeypatch):
    (project / "model").mkdir()
    (project / "model" / "expected.json").write_text("{")
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_fmas.log"))
    with pytest.raises(MeasurementError, match="expected.json is unreadable.*fmas-hw export"):
        GvsocRunner().run(project, timeout_s=30)


@pytest.mark.sdk
@pytest.mark.skipif(not os.environ.get("GAP_SDK_HOME"), reason="needs the GAP SDK: GAP_SDK_HOME unset")
def test_live_gvsoc(tiny_mnv2_supernet, tmp_path) -> None:
    """A small project of its own on GVSoC: cycles, and the output of the host int8 reference."""
    try:  # GAP_SDK_HOME may name the SDK's open sources only (enough for the sdk_sources tests)
        check_sdk(("sdk", "toolchain", "autotiler"))
    except SdkMissingError as exc:
        pytest.skip(f"needs a complete GAP SDK: {exc}")
    project = live_project(tiny_mnv2_supernet, tmp_path)
    m = GvsocRunner().measure(project)
    assert m.total_cycles > 0 and m.source == "gvsoc" and Path(m.log_path).is_file()
    assert m.expected_checksum is not None and m.checksum == m.expected_checksum, (
        f"GVSoC output checksum {m.checksum} != expected {m.expected_checksum} (host int8 reference)")


def test_no_expected_checksum_for_a_project_built_by_nntool_by_default(fake_sdk, project, monkeypatch):
    """NNTool quantises from the TFLite: the autotiler route's expected output does not apply."""
    (project / "model").mkdir()
    (project / "model" / "expected.json").write_text(json.dumps({"output_checksum": 0x12345678}))
    (project / "candidate.json").write_text(json.dumps({"route": "nntool"}))
    monkeypatch.setenv("FMAS_FAKE_OUTPUT", str(FIXTURES / "gvsoc_fmas.log"))
    m = GvsocRunner().run(project, timeout_s=30)
    assert (m.checksum, m.expected_checksum, m.output_ok) == (0x5A17C0DE, None, None)
