"""``fmas-hw export``: the GAP8 fit verdict first; an unfittable network refused unless --force."""

from __future__ import annotations

import json

from fmas_hw.cli.main import main
from fmas_hw.gap8 import project_writer as project_module
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


def test_an_unfittable_export_is_refused_before_any_slow_work(tmp_path, capsys, monkeypatch):
    def no_build(*args, **kwargs):
        raise AssertionError("the supernet was built for a network that cannot fit")

    monkeypatch.setattr("fmas_hw.model.supernet.Supernet.build", no_build)
    out = tmp_path / "p"
    code = main(["export", "--backbone", "xception", "--classes", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert "does not fit GAP8 memory" in err and "--force" in err
    assert "L3 HyperRAM" in err and "OVER by" in err and "Traceback" not in err


def test_an_unfittable_export_is_written_with_force(tmp_path, capsys, monkeypatch):
    # MobileNetV2 x0.35 at 768 px: its spilled activations exceed HyperRAM (a real verdict).
    # TFLite/ONNX conversion is tested with the export modules; here only the command's path.
    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    out = tmp_path / "p"
    code = main(["export", "--classes", "3", "--alpha", "0.35", "--input-size", "768",
                 "--calibration-images", "1", "--out", str(out), "--force", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["gap8_fit"]["fits"] is False and "does not fit GAP8 memory" in captured.err
    assert (out / "model" / "fmasModel.c").exists()
    plan = json.loads((out / "memory_plan.json").read_text())
    assert plan["fits"] is False  # the written plan (from the Keras graph) agrees with the verdict


def test_a_fitting_export_prints_its_verdict(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    code = main(["export", "--classes", "3", "--alpha", "0.35", "--input-size", "64",
                 "--calibration-images", "1", "--out", str(tmp_path / "p")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "GAP8 fit         fits (64x64 input)" in captured.out
    for level in ("L1 tiles", "L2 peak", "L3 HyperRAM", "flash"):
        assert level in captured.out


SMALL = ["--classes", "3", "--alpha", "0.35", "--input-size", "64", "--calibration-images", "1"]


def _old_log(out):
    log = out / "logs" / "gvsoc-20240101.log"
    log.write_text("FMAS: cycles of the earlier project\n")
    return log


def test_export_refuses_another_candidates_project_and_force_clears_its_logs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    out = tmp_path / "p"
    assert main(["export", *SMALL, "--out", str(out)]) == 0  # the supernet
    log = _old_log(out)
    before = (out / "candidate.json").read_text()
    genome = "0000111111111111111111111110"  # the supernet less its last layer
    assert MB.decode(genome).key != MB.supernet().key
    capsys.readouterr()
    with monkeypatch.context() as m:
        m.setattr("fmas_hw.model.supernet.Supernet.build", _no_slow_work)
        assert main(["export", *SMALL, "--genome", genome, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out} holds the project of candidate {MB.supernet().key}" in err and "--force" in err
    assert "Traceback" not in err and (out / "candidate.json").read_text() == before and log.exists()
    assert main(["export", *SMALL, "--genome", genome, "--out", str(out), "--force"]) == 0
    assert "its logs cleared" in capsys.readouterr().err
    assert json.loads((out / "candidate.json").read_text())["genome"] == genome and not log.exists()


def _no_slow_work(*args, **kwargs):
    raise AssertionError("the supernet was built before the output folder was checked")


def test_re_exporting_the_same_candidate_keeps_its_logs(tmp_path, monkeypatch):
    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    out = tmp_path / "p"
    assert main(["export", *SMALL, "--out", str(out)]) == 0
    log = _old_log(out)
    assert main(["export", *SMALL, "--out", str(out)]) == 0
    assert log.read_text() == "FMAS: cycles of the earlier project\n"
