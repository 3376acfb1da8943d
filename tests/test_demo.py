"""The demo flow end to end in a reduced form: search, fine-tune, report (SPEC §1, §7)."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from fmas_hw.cli.main import main
from fmas_hw.demo import DemoConfig, run_demo


@pytest.mark.slow
def test_reduced_demo_searches_finetunes_and_reports(tmp_path, capsys):
    out = run_demo(DemoConfig(out=str(tmp_path / "demo"), population=4, generations=2, finetune_top=2,
                              finetune_epochs=1, study_candidates=3), log=lambda m: None)
    front = out["front"]
    assert front and all(f["cycles_source"] == "estimate" for f in front)
    assert any(f["genome"] == "0000111111111111111111111111" for f in front)  # supernet: most accurate

    supernet = "0000111111111111111111111111"
    rows = out["finetuned"]
    assert len(rows) == 2 and all(r["status"] == "done" and 0 <= r["error_full_after"] <= 1 for r in rows)
    row = next(r for r in rows if r["genome"] != supernet)
    losses = json.loads(row["val_loss_json"])  # [before, epoch 1, ...]
    # A sub-network with shared, un-tuned weights gains from fine-tuning (the converged supernet
    # need not: early stopping then keeps its original weights).
    assert min(losses[1:]) < losses[0]

    with sqlite3.connect(out["store"]) as conn:
        stored = dict(conn.execute("SELECT arch_key, error_full_after FROM finetune").fetchall())
        config = json.loads(conn.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    assert (config["input_size"], config["classes"]) == (64, 8)  # the shipped supernet's manifest
    assert stored[row["arch_key"]] == pytest.approx(row["error_full_after"])

    # Re-running the fine-tune resumes: nothing left to do, and the rows read back from the store
    # print as the same JSON objects.
    capsys.readouterr()
    assert main(["finetune", "--store", out["store"], "--top", "2", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["candidates"]
    assert [r["arch_key"] for r in again] == [r["arch_key"] for r in out["finetuned"]]
    assert again[0]["error_full_after"] == pytest.approx(out["finetuned"][0]["error_full_after"])

    summary = out["report"]["summary"]
    front_fidelity = summary["front_fidelity"]  # every front member scored on the full set
    assert front_fidelity["n"] == front_fidelity["front_size"] == len(front)
    study = summary["proxy_study"]
    assert study["candidates"] == 4 and study["images"] == 1000 and study["subset_images"] == 200
    report_md = open(out["report"]["files"]["markdown"]).read()
    assert "Proxy study: subset vs full validation set" in report_md and "proxy-study/proxy-curve.png" in report_md
    assert "accuracy scored on cpu: " in report_md or "accuracy scored on gpu: " in report_md

    files = out["report"]["files"]
    with open(files["csv"]["candidates"]) as f:
        rows = list(csv.DictReader(f))
    assert rows and any(r.get("genome") == row["genome"] for r in rows)
    for plot in files["plots"].values():
        for path in plot.values():
            assert open(path, "rb").read(4) in (b"\x89PNG", b"<?xm", b"<svg")


def test_demo_front_table_gives_cycles_with_unit_source_and_fit(monkeypatch, capsys):
    from fmas_hw import demo as demo_module

    front = [{"genome": "0" * 28, "error": 0.31, "cycles": 123_400_000, "cycles_source": "estimate",
              "fits_gap8": False, "flops": 5e8, "params": 1_000_000}]
    monkeypatch.setattr(demo_module, "run_demo", lambda cfg, log: {
        "store": "s.sqlite", "report": {"out_dir": "r"}, "front": front, "seconds": 60.0})
    assert main(["demo", "--out", "unused"]) == 0
    assert "123 Mcycles (estimate; does not fit GAP8)" in capsys.readouterr().out
