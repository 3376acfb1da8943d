"""Fixtures of the report tests: small real stores written by fake-evaluator searches.

The searches take well under a second each (M = 6, G = 3, in-process fakes); they and the
reports built from them are session-scoped because writing the plots is the slow part.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fmas_hw.report import ReportFiles, write_report
from fmas_hw.search import SearchConfig, run
from fmas_hw.store import FinetuneRow, Store
from fmas_hw.store.front import stored_front

#: Fake evaluator that fails about one candidate in three (never the supernet).
FAILING = "tests.search.fakes:build_failing_evaluator"
INSTANT = "tests.search.fakes:build_fake_evaluator"


def search_store(folder: Path, name: str, **overrides) -> Path:
    """Run a small fake search and return its store path."""
    values = dict(population=6, generations=3, evaluator=INSTANT, store=str(folder / f"{name}.sqlite"))
    values.update(overrides)
    run(SearchConfig(**values))
    return Path(values["store"])


def add_finetune_rows(store: Path, shifts: list[float]) -> dict[str, FinetuneRow]:
    """Fine-tuning rows for the first len(shifts) final-front members: after = subset - shift."""
    with Store.open(store, writable=False) as s:
        front = [r.arch_key for r in stored_front(s)]
        records = {r.arch_key: r for r in s.evaluations()}
    written = {}
    with Store.open(store) as s:
        for key, shift in zip(front, shifts, strict=False):
            record = records[key]
            row = FinetuneRow(key, record.genome, "done", error_subset_before=record.error,
                              error_full_before=record.error + 0.01, error_full_after=record.error - shift,
                              epochs=7, seconds=3600.0, weights_path=f"ft/{key}.h5", val_loss=[0.9, 0.7, 0.6])
            written[key] = s.finetune.record(row)
    return written


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory) -> Path:
    """A session-wide scratch folder."""
    return tmp_path_factory.mktemp("report")


@pytest.fixture(scope="session")
def mnv2_store(report_dir) -> Path:
    """MobileNetV2 search, error vs FLOPs and latency, with some failed candidates."""
    return search_store(report_dir, "mnv2", objectives=("flops", "latency"), evaluator=FAILING)


@pytest.fixture(scope="session")
def xception_store(report_dir) -> Path:
    """Xception search, error vs params, with a parameter constraint that rejects candidates."""
    return search_store(report_dir, "xception", backbone="xception", objectives=("params",),
                        max_params=28_000_000)


@pytest.fixture(scope="session")
def finetuned_store(report_dir, mnv2_store) -> tuple[Path, dict[str, FinetuneRow]]:
    """A copy of the MobileNetV2 store with fine-tuning rows for its front."""
    store = report_dir / "finetuned.sqlite"
    shutil.copy(mnv2_store, store)
    return store, add_finetune_rows(store, [0.0095, -0.013, 0.004, 0.0])


@pytest.fixture(scope="session")
def mnv2_report(report_dir, mnv2_store) -> ReportFiles:
    """Report of the MobileNetV2 store without fine-tuning (md, csv, html)."""
    return write_report(mnv2_store, report_dir / "mnv2-report", "md,csv,html")


@pytest.fixture(scope="session")
def finetuned_report(report_dir, finetuned_store) -> ReportFiles:
    """Report of the fine-tuned store (default formats md, csv)."""
    return write_report(finetuned_store[0], report_dir / "ft-report")
