"""``fmas-hw export``: the GAP8 fit verdict first; an unfittable network refused unless --force."""

from __future__ import annotations

import json

from fmas_hw.cli.main import main
from fmas_hw.gap8 import project as project_module
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
