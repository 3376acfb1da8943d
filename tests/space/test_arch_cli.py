"""``fmas-hw arch``: a genome's genes, parameters and FLOPs."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmas_hw.cli.main import cli


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
