"""``fmas-hw arch`` and the CLI shell."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main


def test_help_lists_commands_without_importing_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from fmas_hw.cli.main import main; rc = main(['--help']); "
            "assert 'tensorflow' not in sys.modules, 'help imported TF'; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "arch" in out and "Commands" in out


def test_arch_json_has_genome_genes_params_flops():
    genome = "0000111111111010110001100000"
    result = CliRunner().invoke(cli, ["arch", "--backbone", "mobilenetv2", "--genome", genome,
                                      "--input-size", "64", "--classes", "5", "--alpha", "0.35", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["genome"] == genome
    assert data["canonical_genome"] == "0000111111111101011000100100"
    assert data["genes"]["groups"]["32ch"] == [3, 5]
    assert data["params"] > 0 and data["flops"] > 0


def test_arch_text_output_names_the_flops_source():
    result = CliRunner().invoke(cli, ["arch", "--input-size", "64", "--alpha", "0.35", "--classes", "3"])
    assert result.exit_code == 0
    assert "TF profiler" in result.output and "parameters" in result.output


def test_invalid_genome_is_an_error_without_traceback(capsys):
    rc = main(["arch", "--backbone", "xception", "--genome", "0101"])
    err = capsys.readouterr().err
    assert rc == 2  # click's usage error
    assert "Invalid value for '--genome'" in err and "expected 22" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["arch", "measure", "export", "eval"])
def test_every_genome_option_reads_the_backbone_given_after_it(command, capsys):
    xception_supernet = "0100001111111111111111"
    rc = main([command, "--genome", xception_supernet, "--backbone", "mobilenetv2", "--help"])
    assert rc == 0  # --help wins; the genome is not parsed yet
    rc = main([command, "--genome", xception_supernet, "--backbone", "mobilenetv2"])
    assert rc == 2 and "expected 28" in capsys.readouterr().err


def test_every_command_has_help():
    from fmas_hw.cli.main import COMMANDS, load_command

    for name in COMMANDS:
        assert load_command(name).name == name or name == "eval"
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


def test_eval_json_and_gap8_adaptation_change(synth_voc, tmp_path, tiny_mnv2_supernet):
    from fmas_hw.model.weights import save_weights

    weights = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, weights)
    result = CliRunner().invoke(cli, ["eval", "--data", str(synth_voc), "--weights", str(weights), "--classes", "5",
                                      "--alpha", "0.35", "--input-size", "64", "--val-fraction", "0.5",
                                      "--gap8", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["images"] == 5 and data["error"] == 1 - data["miou"]
    assert 0 <= data["gap8_miou"] <= 1
    assert data["gap8_miou_change"] == data["gap8_miou"] - data["miou"]
