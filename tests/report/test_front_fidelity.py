"""Fidelity over the whole final front: subset vs full-set error without fine-tuning, in the report."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from fmas_hw.report import front_fidelity, kendall_tau, load, write_report
from fmas_hw.report.tables import candidate_rows
from fmas_hw.store import FullSetRow, Store

from .test_plots import _check_png_svg

#: Full-set error = subset error − shift for the scored members, in this order (cycled).
SHIFTS = [0.012, -0.017, 0.004, 0.0, -0.006]


def _candidate(name, subset, full, on_front=True, source="full_set"):
    return {"name": name, "genome": "0" * 28, "arch_key": name, "on_front": on_front, "error_subset": subset,
            "error_full_no_ft": full, "error_full_no_ft_source": None if full is None else source}


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def add_full_set_rows(store: Path, keys: list[str]) -> dict[str, FullSetRow]:
    """Full-set rows for ``keys``: error = the stored subset error − the next shift."""
    with Store.open(store) as s:
        records = {r.arch_key: r for r in s.evaluations()}
        return {k: s.full_set.record(FullSetRow(k, records[k].genome, records[k].error - shift,
                                                1 - records[k].error + shift, 1449, 2.5))
                for k, shift in zip(keys, SHIFTS * len(keys), strict=False)}


@pytest.fixture(scope="module")
def scored(report_dir, mnv2_store):
    """A copy of the MobileNetV2 store with full-set rows for the supernet and its whole front."""
    store = report_dir / "full-set.sqlite"
    shutil.copy(mnv2_store, store)
    data = load(store)
    rows = add_full_set_rows(store, list(dict.fromkeys([data.supernet_key, *data.final_front])))
    return store, rows, write_report(store, report_dir / "full-set-report", "md,csv,html")


def test_gap_sign_range_and_tau_over_the_front():
    rows = [_candidate("P1", 0.30, 0.29), _candidate("P2", 0.40, 0.415), _candidate("P3", 0.50, 0.49),
            _candidate("supernet", 0.2, 0.1, on_front=False), _candidate("P4", 0.6, None)]
    front = front_fidelity(rows)
    assert front.n == 3 and front.front_size == 4  # P4 not scored; the supernet is not on this front
    assert [r["gap_points"] for r in front.rows] == [pytest.approx(1.0), pytest.approx(-1.5), pytest.approx(1.0)]
    assert front.max_abs_gap == pytest.approx(1.5) and front.mean_gap == pytest.approx(0.5 / 3)
    assert (front.kendall_tau, front.p_value) == kendall_tau([0.30, 0.40, 0.50], [0.29, 0.415, 0.49])
    assert front.kendall_tau == pytest.approx(1.0)
    assert set(front.summary()) == {"n", "front_size", "max_abs_gap_points", "mean_gap_points", "kendall_tau",
                                    "p_value"}


def test_no_full_set_error_on_the_front_means_no_front_fidelity():
    assert front_fidelity([_candidate("P1", 0.3, None), _candidate("supernet", 0.2, 0.1, on_front=False)]) is None


def test_candidate_table_has_the_full_set_error_and_the_gap(scored):
    store, rows, report = scored
    table = _csv(report.csv["candidates"])
    assert {r["arch_key"] for r in table} == set(rows)
    for row in table:
        stored = rows[row["arch_key"]]
        assert float(row["error_full_no_ft"]) == stored.error and row["error_full_no_ft_source"] == "full_set"
        assert float(row["gap_points"]) == pytest.approx(100 * (float(row["error_subset"]) - stored.error))
    text = report.markdown.read_text()
    assert "error full set, no FT (%)" in text and "gap subset − full (points)" in text


def test_summary_csv_section_and_plot_of_the_whole_front(scored):
    store, rows, report = scored
    data = load(store)
    front = [r for r in candidate_rows(data) if r["on_front"]]
    gaps = [100 * (r["error_subset"] - rows[r["arch_key"]].error) for r in front]
    summary = report.summary["front_fidelity"]
    assert summary["n"] == summary["front_size"] == len(set(data.final_front)) == len(front)
    assert summary["max_abs_gap_points"] == pytest.approx(max(abs(g) for g in gaps))
    assert summary["max_abs_gap_points"] == pytest.approx(100 * max(abs(s) for s in SHIFTS[:len(front)]))
    assert summary["mean_gap_points"] == pytest.approx(sum(gaps) / len(gaps))
    tau, p = kendall_tau([r["error_subset"] for r in front], [rows[r["arch_key"]].error for r in front])
    assert (summary["kendall_tau"], summary["p_value"]) == (pytest.approx(tau), pytest.approx(p))
    table = _csv(report.csv["front_fidelity"])
    assert sorted(r["arch_key"] for r in table) == sorted(r["arch_key"] for r in front)
    assert {r["source"] for r in table} == {"full_set"}
    text = report.markdown.read_text()
    section = text[text.index("## Proxy fidelity"):text.index("## Search cost")]
    assert "### Whole final front: subset vs full set, no fine-tuning" in section
    assert f"Over {len(front)} of the {len(front)} final-front member(s)" in section
    assert f"max |gap|; mean gap {summary['mean_gap_points']:+.2f} points" in section
    assert "| candidate | error subset, no FT (%) | error full set, no FT (%) | gap subset − full (points) |" in section
    assert "(front-fidelity.png)" in section and "<h3>Whole final front" in report.html.read_text()
    assert report.summary["fidelity"] is None  # the fine-tuned table needs fine-tuning, as before
    _check_png_svg(report.plots["front-fidelity"])


def test_finetunes_before_error_is_the_fallback_and_the_table_wins(finetuned_store, finetuned_report, tmp_path):
    store, tuned = finetuned_store
    by_key = {r["arch_key"]: r for r in finetuned_report.summary["candidates"]}
    for key, row in tuned.items():
        assert by_key[key]["error_full_no_ft"] == row.error_full_before
        assert by_key[key]["error_full_no_ft_source"] == "finetune"
        assert by_key[key]["gap_points"] == pytest.approx(-1.0)  # the fixture's before = subset + 0.01
    summary = finetuned_report.summary["front_fidelity"]
    assert summary["n"] == len(tuned) and summary["max_abs_gap_points"] == pytest.approx(1.0)
    missing = summary["front_size"] - summary["n"]  # front members never fine-tuned
    assert missing > 0 and (f"{missing} front member(s) have no full-set error yet: run `fmas-hw report --full-set`"
                            in finetuned_report.markdown.read_text())
    copy = tmp_path / "both.sqlite"
    shutil.copy(store, copy)
    key = next(iter(tuned))
    add_full_set_rows(copy, [key])
    (row,) = [r for r in candidate_rows(load(copy)) if r["arch_key"] == key]
    assert row["error_full_no_ft_source"] == "full_set" and row["error_full_no_ft"] != tuned[key].error_full_before
    assert row["error_full_before"] == tuned[key].error_full_before  # the fine-tuned table stays as it was


def test_without_full_set_rows_the_report_says_what_to_run(mnv2_store, mnv2_report):
    assert mnv2_report.summary["front_fidelity"] is None and "front_fidelity" not in mnv2_report.csv
    assert "front-fidelity" not in mnv2_report.plots
    assert f"`fmas-hw report --full-set --store {mnv2_store}`" in mnv2_report.markdown.read_text()
