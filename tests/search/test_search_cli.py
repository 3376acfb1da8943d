"""``fmas-hw search`` on the command line: JSON output, config-file precedence, resume, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main
from fmas_hw.store import Store

from .fakes import FAKE

SMALL = ["--population", "6", "--generations", "2", "--evaluator", FAKE]


def _invoke(*args: str):
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, ["search", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def test_json_output(tmp_path):
    store = tmp_path / "s.sqlite"
    result = _invoke(*SMALL, "--store", str(store), "--objective", "flops", "--objective", "params", "--json")
    out = json.loads(result.stdout)
    assert out["store"] == str(store) and f"store: {store}" in result.stderr
    assert out["evaluations"] == 12 and out["store_hits"] == 0 and out["failures"] == 0
    assert out["front"] and {"genome", "error", "flops", "params"} <= set(out["front"][0])


def test_summary_output_starts_with_the_store(tmp_path):
    store = tmp_path / "s.sqlite"
    result = _invoke(*SMALL, "--store", str(store), "--objective", "latency,params")
    lines = result.stdout.splitlines()
    assert lines[0] == f"store: {store}" and lines[-1] == f"store: {store}"
    assert any(line.startswith("Pareto front (") for line in lines)
    assert "latency" in result.stdout and "search finished: 2 generations, 12 evaluated" in result.stdout


def test_summary_flags_the_cycles_of_networks_that_cannot_fit(tmp_path):
    # No --fit-gap8: Xception candidates are evaluated, and their cycles flagged (HyperRAM exceeded).
    result = _invoke(*SMALL, "--backbone", "xception", "--store", str(tmp_path / "x.sqlite"),
                     "--objective", "latency")
    front = [line for line in result.stdout.splitlines() if line.endswith("does not fit GAP8)")]
    assert front and all("Mcycles (estimate; does not fit GAP8)" in line for line in front)
    assert "GAP8 latency" in result.stdout


def test_config_file_then_command_line(tmp_path):
    config = tmp_path / "search.toml"
    config.write_text(f'population = 8\nseed = 3\ngenerations = 2\nevaluator = "{FAKE}"\n'
                      'objectives = ["params"]\nstore = "from-file.sqlite"\n')
    store = tmp_path / "from-cli.sqlite"
    _invoke("--config", str(config), "--seed", "4", "--store", str(store), "--json")
    with Store.open(store, writable=False) as s:
        saved = s.meta()["config"]
    assert (saved["population"], saved["seed"], saved["objectives"]) == (8, 4, ["params"])
    assert not (tmp_path / "from-file.sqlite").exists()


def test_resume_extends_and_refuses_other_config(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    _invoke(*SMALL, "--store", str(store), "--json")
    out = json.loads(_invoke("--resume", str(store), "--generations", "3", "--json").stdout)
    assert out["generations"] == 3 and out["store_hits"] >= 12
    assert main(["search", "--resume", str(store), "--seed", "9"]) == 2
    assert "seed: store has 0, now 9" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--objective", "energy"], "objective(s) ['energy']"),
    (["--evaluator", "nope_module_xyz:f"], "not found"),
], ids=["objective", "evaluator"])
def test_user_errors_exit_2_without_traceback(tmp_path, capsys, args, message):
    code = main(["search", "--store", str(tmp_path / "s.sqlite"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
