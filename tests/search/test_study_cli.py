"""``fmas-hw study proxy`` on the command line: random or stored candidates, files, errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from fmas_hw.cli.main import cli
from fmas_hw.store import Store

from .fakes import FAKE


def _study(*args: str, code: int = 0):
    result = CliRunner(mix_stderr=False).invoke(cli, ["study", "proxy", *args], catch_exceptions=False)
    assert result.exit_code == code, result.stderr
    return result


def test_a_study_of_random_candidates_writes_its_tables_plots_and_summary(tmp_path, synth_voc, tiny_mnv2_weights):
    out = tmp_path / "study"
    result = _study("--data", str(synth_voc), "--weights", str(tiny_mnv2_weights), "--candidates", "5",
                    "--out", str(out), "--format", "md,csv,html", "--json")
    summary = json.loads(result.stdout)
    assert summary["candidates"] == 6 and summary["images"] == 10 and summary["subset_images"] == 2
    assert summary["input_size"] == 64 and summary["classes"] == 5  # from the manifest, and said so
    assert "from the manifest" in result.stderr
    assert [row["name"] for row in summary["candidates_table"]][:2] == ["supernet", "R1"]
    assert summary["curve"][-1]["fraction"] == 1.0 and summary["curve"][-1]["mean_abs_deviation"] == 0.0
    assert [s["pool"] for s in summary["selections"]] == [5]
    for name in ("study.md", "study.html", "curve.csv", "candidates.csv", "selection.csv", "study.json",
                 "proxy-curve.png", "proxy-scatter.svg", "counts.npz"):
        assert (out / name).is_file(), name
    md = (out / "study.md").read_text()
    assert "Kendall τ" in md and "![error vs fraction of the validation set](proxy-curve.png)" in md
    assert len((out / "curve.csv").read_text().splitlines()) == 1 + len(summary["curve"])


def test_a_study_of_a_store_takes_its_settings_and_its_candidates(tmp_path, synth_voc, tiny_mnv2_weights):
    store = tmp_path / "s.sqlite"
    search = CliRunner(mix_stderr=False).invoke(
        cli, ["search", "--population", "4", "--generations", "1", "--data", str(synth_voc), "--weights",
              str(tiny_mnv2_weights), "--store", str(store)], catch_exceptions=False)
    assert search.exit_code == 0, search.stderr
    with Store.open(store, writable=False) as s:
        evaluated = {r.genome for r in s.evaluations("ok")}
    result = _study("--store", str(store), "--candidates", "3", "--out", str(tmp_path / "st"), "--json")
    summary = json.loads(result.stdout)
    genomes = [row["genome"] for row in summary["candidates_table"]]
    assert summary["store"] == str(store) and summary["data"] == str(synth_voc)
    assert len(genomes) == 4 and set(genomes[1:]) <= evaluated and genomes[0] not in genomes[1:]


def test_a_study_without_weights_is_refused_with_what_to_pass(tmp_path, synth_voc):
    result = _study("--data", str(synth_voc), "--out", str(tmp_path / "x"), code=2)
    assert "needs --data and --weights" in result.stderr and not (tmp_path / "x").exists()


def test_a_store_of_a_fake_evaluator_names_what_is_missing(tmp_path):
    store = tmp_path / "f.sqlite"
    CliRunner().invoke(cli, ["search", "--population", "4", "--generations", "1", "--evaluator", FAKE,
                             "--store", str(store)], catch_exceptions=False)
    result = _study("--store", str(store), "--out", str(tmp_path / "x"), code=2)
    assert "needs --data and --weights" in result.stderr
