"""``fmas-hw measure``: labelled cycles, per-layer table, JSON, projects, and what a user can get wrong."""

from __future__ import annotations

import json

import pytest

from fmas_hw.cli.main import main
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


def _run(capsys, *args):
    code = main(["measure", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_estimate_prints_labelled_cycles_and_ms(capsys):
    code, out, _ = _run(capsys)
    assert code == 0
    assert "estimated (estimate)" in out and " ms at 175 MHz" in out
    assert "layer" not in out  # no table unless asked


def test_per_layer_table(capsys):
    code, out, _ = _run(capsys, "--per-layer")
    assert code == 0
    assert "expanded_conv_16_project" in out and "ops/cycle" in out and "aspp_concat" not in out


def test_json_has_cycles_source_estimated_and_per_layer(capsys):
    code, out, _ = _run(capsys, "--json")
    data = json.loads(out)
    assert code == 0 and data["source"] == "estimate" and data["estimated"] is True
    assert data["cycles"] > 0 and data["per_layer"] == [] and data["label"] == "estimated (estimate)"
    code, out, _ = _run(capsys, "--json", "--per-layer")
    data = json.loads(out)
    assert len(data["per_layer"]) == len(data["features"]) > 60
    assert sum(layer["cycles"] for layer in data["per_layer"]) == data["cycles"]
    assert {"kind", "ops", "l1_bytes", "l3_bytes", "tiles"} <= set(data["features"][0])


def test_project_with_candidate_json(capsys, tmp_path):
    (tmp_path / "candidate.json").write_text(json.dumps(
        {"backbone": "mobilenetv2", "genome": MB.supernet_genome, "classes": 5, "alpha": 0.35, "input_size": 96}))
    code, out, _ = _run(capsys, "--project", str(tmp_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["cycles"] > 0 and data["log_path"].endswith("estimate.json")


def test_project_and_genome_together_is_a_usage_error(capsys, tmp_path):
    code, _, err = _run(capsys, "--project", str(tmp_path), "--genome", MB.supernet_genome)
    assert code == 2 and "either --project or --genome" in err


def test_bad_genome_is_an_error_without_traceback(capsys):
    code, _, err = _run(capsys, "--genome", "0101")
    assert code == 2 and "Traceback" not in err and "28" in err


def test_gvsoc_from_a_genome_without_the_sdk_says_so_before_generating(capsys, monkeypatch, tmp_path):
    for var in ("GAP_SDK_HOME", "GAP_RISCV_GCC_TOOLCHAIN"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = _run(capsys, "--target", "gvsoc", "--work-dir", str(tmp_path / "projects"))
    assert code == 2 and "GAP_SDK_HOME" in err and "Dockerfile.gapsdk" in err
    assert not (tmp_path / "projects").exists()  # no project generated for nothing


def test_gvsoc_on_a_project_without_the_sdk(capsys, monkeypatch, tmp_path):
    for var in ("GAP_SDK_HOME", "GAP_RISCV_GCC_TOOLCHAIN"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "Makefile").write_text("# generated\n")
    code, _, err = _run(capsys, "--target", "gvsoc", "--project", str(tmp_path))
    assert code == 2 and "GAP_SDK_HOME" in err


@pytest.mark.parametrize("target", ["gvsoc", "board"])
def test_hardware_targets_are_listed(target, capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0 and target in out


def test_a_figure_for_a_network_that_cannot_fit_is_labelled_so(capsys):
    code, out, _ = _run(capsys, "--backbone", "xception", "--classes", "3")
    assert code == 0
    assert "cycles, estimated (estimate), for a network that does NOT FIT GAP8 memory" in out
    assert "GAP8 fit         DOES NOT FIT" in out and "L3 HyperRAM" in out
    code, out, _ = _run(capsys, "--backbone", "xception", "--classes", "3", "--json")
    data = json.loads(out)
    assert data["runs_on_gap8"] is False and data["gap8_fit"]["fits"] is False
    assert "NOT FIT" in data["label"] and data["source"] == "estimate"


def test_a_fitting_network_prints_its_verdict_per_level(capsys):
    code, out, _ = _run(capsys)
    assert code == 0 and "GAP8 fit         fits (384x384 input)" in out and "NOT FIT" not in out
    assert all(level in out for level in ("L1 tiles", "L2 peak", "L3 HyperRAM", "flash"))
    code, out, _ = _run(capsys, "--json")
    data = json.loads(out)
    assert data["runs_on_gap8"] is True and data["label"] == "estimated (estimate)"


def test_measure_takes_classes_and_alpha_from_the_manifest_and_says_so(capsys, tiny_mnv2_weights):
    code, out, err = _run(capsys, "--weights", str(tiny_mnv2_weights), "--json")
    assert code == 0, err
    assert "(5 classes, alpha 0.35)" in json.loads(out)["candidate"]
    assert "network: 5 classes, alpha 0.35 (from the manifest" in err
