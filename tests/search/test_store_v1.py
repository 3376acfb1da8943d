"""A store written by an earlier fmas-hw (schema version 1, kept in ``tests/fixtures``) still
opens, resumes and reports."""

from __future__ import annotations

import shutil
from pathlib import Path

from fmas_hw.cli.main import main
from fmas_hw.costmodel.online_model import STATE_SUFFIX
from fmas_hw.store import Store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "search-v1.sqlite"


def _copy(tmp_path: Path) -> Path:
    store = tmp_path / "search-v1.sqlite"
    shutil.copy(FIXTURE, store)
    shutil.copy(str(FIXTURE) + STATE_SUFFIX, str(store) + STATE_SUFFIX)
    return store


def test_a_schema_1_store_opens_with_every_row(tmp_path):
    with Store.open(_copy(tmp_path), writable=False) as store:
        meta, rows, generations = store.meta(), store.evaluations(), store.generations()
    assert meta["schema_version"] == 1 and meta["config"]["measure"] == "front"
    assert len(generations) == 3 and len(rows) == len({r.arch_key for r in rows})
    measured = [r for r in rows if r.cycles_source == "simulated"]
    assert measured and all(r.extra["measured_generation"] >= r.generation for r in measured)
    assert all(r.extra["estimate"]["source"] == "estimate" for r in measured)  # the estimate it was told


def test_a_schema_1_store_resumes_and_reports(tmp_path, capsys):
    store = _copy(tmp_path)
    with Store.open(store, writable=False) as before:
        kept = {r.arch_key: (r.cycles, r.cycles_source, r.error) for r in before.evaluations()}
    assert main(["search", "--resume", str(store), "--generations", "4"]) == 0
    with Store.open(store, writable=False) as after:
        rows = {r.arch_key: (r.cycles, r.cycles_source, r.error) for r in after.evaluations()}
        assert len(after.generations()) == 4
    assert len(rows) > len(kept) and all(rows[k] == v for k, v in kept.items() if v[1] == "simulated")
    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "simulated gap8" in text.lower() and (out / "candidates.csv").is_file()
