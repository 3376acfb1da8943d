"""``fmas-hw arch``: a genome's genes, parameters and FLOPs."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmas_hw.cli.main import cli


def test_arch_json_has_genome_genes_params_flops():
    genome = "0000111111111010110001100000"
    result = CliRunner(mix_stderr=False).invoke(cli, ["arch", "--backbone", "mobilenetv2", "--genome", genome,
                                                      "--input-size", "64", "--classes", "5", "--alpha", "0.35",
                                                      "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # (stderr says which network settings it used)
    assert data["genome"] == genome
    assert data["canonical_genome"] == "0000111111111101011000100100"
    assert data["genes"]["groups"]["32ch"] == [3, 5]
    assert data["params"] > 0 and data["flops"] > 0


def test_arch_text_output_names_the_flops_source():
    result = CliRunner().invoke(cli, ["arch", "--input-size", "64", "--alpha", "0.35", "--classes", "3"])
    assert result.exit_code == 0
    assert "TF profiler" in result.output and "parameters" in result.output


def test_arch_prints_the_gap8_fit_and_the_flops_input_size():
    result = CliRunner().invoke(cli, ["arch", "--backbone", "xception", "--input-size", "96", "--classes", "3"])
    assert result.exit_code == 0, result.output
    assert "at 96x96 input" in result.output
    assert "GAP8 fit         DOES NOT FIT" in result.output and "384x384 input" in result.output
    # the longest gene name is still separated from its value
    assert "middle_blocks_dropped []" in result.output


def test_arch_json_has_the_fit_verdict():
    result = CliRunner(mix_stderr=False).invoke(cli, ["arch", "--input-size", "64", "--alpha", "0.35", "--classes", "3",
                                                      "--json"])
    data = json.loads(result.stdout)
    assert data["gap8_fit"]["fits"] is True and data["gap8_fit"]["input_size"] == 384
    assert [lv["name"] for lv in data["gap8_fit"]["levels"]] == ["L1 tiles", "L2 peak", "L3 HyperRAM", "flash"]


def test_arch_still_answers_when_the_memory_plan_fails(monkeypatch):
    from fmas_hw.errors import AdaptationError
    from fmas_hw.gap8 import fit

    def fail(*args, **kwargs):
        raise AdaptationError("layer 'x' has no GAP8 kernel")

    monkeypatch.setattr(fit, "plan_arch", fail)
    result = CliRunner().invoke(cli, ["arch", "--input-size", "64", "--alpha", "0.35", "--classes", "3"])
    assert result.exit_code == 0, result.output
    assert "GAP8 fit         unknown (the memory plan failed: layer 'x' has no GAP8 kernel)" in result.output


def test_arch_takes_classes_alpha_and_input_size_from_the_manifest_and_says_so(tiny_mnv2_weights):
    result = CliRunner(mix_stderr=False).invoke(cli, ["arch", "--weights", str(tiny_mnv2_weights), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["input_size"], data["classes"], data["alpha"]) == (64, 5, 0.35)
    assert "input 64 px, 5 classes, alpha 0.35 (from the manifest" in result.stderr


def test_arch_without_weights_says_its_settings_are_the_defaults():
    result = CliRunner(mix_stderr=False).invoke(cli, ["arch", "--input-size", "64", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["classes"] == 21
    assert ("network: input 64 px (as given); 21 classes, alpha 1.0 (default: no --weights, whose manifest "
            "would give them)") in result.stderr
