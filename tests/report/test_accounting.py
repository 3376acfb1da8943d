"""Search cost accounting: counts and device seconds equal what the store recorded."""

from __future__ import annotations

import csv

import pytest

from fmas_hw.report import load
from fmas_hw.report.accounting import accounting
from fmas_hw.store import Store


def test_counts_and_seconds_equal_the_store(mnv2_store):
    acc = accounting(load(mnv2_store))
    with Store.open(mnv2_store, writable=False) as store:
        records, gens = store.evaluations(), store.generations()
    assert acc.evaluations == len(records) and acc.generations == len(gens) == 3
    assert acc.failed == sum(r.status == "failed" for r in records) > 0  # the failing fake fails some
    assert acc.ok + acc.failed + acc.rejected == acc.evaluations
    assert acc.store_hits == sum(g.n_hits for g in gens)
    assert acc.accuracy_seconds == pytest.approx(sum(r.accuracy_seconds for r in records))
    assert acc.search_seconds == pytest.approx(gens[-1].cumulative_seconds)
    assert acc.finetuned == 0 and acc.finetune_seconds == 0 and acc.saving is None


def test_rejected_candidates_are_counted(xception_store):
    acc = accounting(load(xception_store))
    assert acc.rejected > 0 and acc.ok + acc.failed + acc.rejected == acc.evaluations


def test_finetune_seconds_and_extrapolated_saving(finetuned_store, finetuned_report):
    store, rows = finetuned_store
    summary = finetuned_report.summary["accounting"]
    assert summary["finetuned"] == len(rows) and summary["finetune_seconds"] == pytest.approx(3600.0 * len(rows))
    assert summary["total_seconds"] == pytest.approx(summary["search_seconds"] + 3600.0 * len(rows))
    assert summary["finetune_all_seconds"] == pytest.approx(3600.0 * summary["evaluations"])
    assert 0 < summary["saving"] < 1
    with open(finetuned_report.csv["accounting"], newline="") as fh:
        items = {r["item"]: r for r in csv.DictReader(fh)}
    assert float(items["fine-tuning"]["device_seconds"]) == pytest.approx(3600.0 * len(rows))
    assert "fine-tuning every evaluated candidate (extrapolated)" in items


def test_candidates_over_a_budget_are_counted_and_shown(report_dir):
    from fmas_hw.report import write_report

    from .conftest import search_store

    store = search_store(report_dir, "over-cycles", objectives=("latency",), max_cycles=200_000_000,
                         generations=3)
    data = load(store)
    over = {k for k, r in data.evaluations.items() if r.status == "ok" and r.cycles > 200_000_000}
    acc = accounting(data)
    assert over and acc.over_budget == len(over) and acc.over_budget_by == {"max_cycles": len(over)}
    assert not over & set(data.final_front)
    files = write_report(store, report_dir / "over-cycles-report", "md,csv")
    text = files.markdown.read_text()
    assert f"over a budget after evaluation (not on the front; {len(over)} over --max-cycles) | {len(over)} |" in text
    assert files.summary["accounting"]["over_budget"] == len(over)
