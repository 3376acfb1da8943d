"""``fmas-hw eval``: a candidate's error on the validation subset, and the GAP8 adaptation change."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmas_hw.cli.main import cli


def test_eval_json_and_gap8_adaptation_change(synth_voc, tmp_path, tiny_mnv2_supernet):
    from fmas_hw.model.weights import save_weights

    weights = tmp_path / "w.h5"
    save_weights(tiny_mnv2_supernet.model, weights)
    result = CliRunner(mix_stderr=False).invoke(cli, ["eval", "--data", str(synth_voc), "--weights", str(weights), "--classes", "5",
                                      "--alpha", "0.35", "--input-size", "64", "--val-fraction", "0.5",
                                      "--gap8", "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)  # (stderr says which network settings it used)
    assert data["images"] == 5 and data["error"] == 1 - data["miou"]
    assert 0 <= data["gap8_miou"] <= 1
    assert data["gap8_miou_change"] == data["gap8_miou"] - data["miou"]


def test_eval_takes_input_size_classes_and_alpha_from_the_manifest(synth_voc, tiny_mnv2_weights):
    result = CliRunner(mix_stderr=False).invoke(cli, ["eval", "--data", str(synth_voc), "--weights",
                                                      str(tiny_mnv2_weights), "--val-fraction", "0.5", "--json"])
    assert result.exit_code == 0, result.stderr
    manifest = tiny_mnv2_weights.with_suffix(".json")
    assert f"network: input 64 px, 5 classes, alpha 0.35 (from the manifest {manifest})" in result.stderr
    data = json.loads(result.stdout)
    assert data["images"] == 5 and data["random_init"] is False and data["weights"] == str(tiny_mnv2_weights)


def test_eval_without_weights_is_refused_unless_random_init_is_asked_for(synth_voc):
    args = ["eval", "--data", str(synth_voc), "--classes", "5", "--alpha", "0.35", "--input-size", "64",
            "--val-fraction", "0.2"]
    refused = CliRunner(mix_stderr=False).invoke(cli, args)
    assert refused.exit_code == 2 and "no --weights" in refused.stderr and "--random-init" in refused.stderr
    labelled = CliRunner(mix_stderr=False).invoke(cli, [*args, "--random-init"])
    assert labelled.exit_code == 0, labelled.stderr
    assert "error" in labelled.stdout and "[random initialisation: no trained weights" in labelled.stdout
    as_json = json.loads(CliRunner(mix_stderr=False).invoke(cli, [*args, "--random-init", "--json"]).stdout)
    assert as_json["random_init"] is True and as_json["weights"] is None
