"""``fmas-hw eval``: a candidate's error on the validation subset, and the GAP8 adaptation change."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmas_hw.cli.main import cli


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
