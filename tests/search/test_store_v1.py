"""A store written by an earlier fmas-hw (schema version 1, kept in ``tests/fixtures``) still
opens, upgrades to schema 2 with every value in its typed column, resumes and reports."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path

import pymoo

from fmas_hw.cli.main import main
from fmas_hw.costmodel.online_model import STATE_SUFFIX
from fmas_hw.store import SCHEMA_VERSION, Store
from fmas_hw.store.migrate import MOVED_KEYS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "search-v1.sqlite"


def _copy(tmp_path: Path) -> Path:
    store = tmp_path / "search-v1.sqlite"
    shutil.copy(FIXTURE, store)
    shutil.copy(str(FIXTURE) + STATE_SUFFIX, str(store) + STATE_SUFFIX)
    return store


def _raw_rows(path: Path) -> dict[str, dict]:
    """The schema-1 rows as SQLite holds them, read without fmas-hw."""
    conn = sqlite3.connect(path)
    try:
        conn.row_factory = sqlite3.Row
        return {r["arch_key"]: {**dict(r), "extra": json.loads(r["extra"])}
                for r in conn.execute("SELECT * FROM evaluations")}
    finally:
        conn.close()


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return json.loads(conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
    finally:
        conn.close()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_schema_1_store_reads_with_every_value_typed_and_the_file_untouched(tmp_path):
    path = _copy(tmp_path)
    raw, before = _raw_rows(path), _digest(path)
    with Store.open(path, writable=False) as store:
        meta, rows, generations = store.meta(), store.evaluations(), store.generations()
    assert _digest(path) == before and _version(path) == 1  # a reader writes nothing
    assert meta["schema_version"] == SCHEMA_VERSION and meta["config"]["measure"] == "front"
    assert len(generations) == 3 and len(rows) == len(raw) == len({r.arch_key for r in rows})
    measured = [r for r in rows if r.cycles_source == "simulated"]
    assert measured and all(r.latency.known_from >= r.generation for r in measured)
    assert all(r.latency.estimate.source == "estimate" for r in measured)  # the estimate it was told
    for row in rows:
        old = raw[row.arch_key]["extra"]
        assert not set(MOVED_KEYS) & set(row.extra)
        assert (row.cycles, row.cycles_source) == (raw[row.arch_key]["cycles"], raw[row.arch_key]["cycles_source"])
        assert row.fits_gap8 == old.get("fits_gap8") and (row.fit and row.fit.memory) == old.get("gap8_memory")
        if row.latency is None:
            continue
        assert row.latency.known_from == old.get("measured_generation")
        assert row.latency.failure == old.get("measurement_failed")
        estimate = old.get("estimate")
        if estimate is None:
            assert row.latency.provenance == old.get("measurement", {})
            assert row.latency.model == old.get("estimate_model") and row.latency.estimate is None
        else:
            assert (row.latency.estimate.cycles, row.latency.estimate.source) == (estimate["cycles"], estimate["source"])
            assert row.latency.estimate.model == old.get("estimate_model") and row.latency.model is None
        assert row.latency.estimated == row.latency.provenance["label"].startswith("estimated")


def test_a_writer_upgrades_a_schema_1_store_in_place(tmp_path):
    path = _copy(tmp_path)
    with Store.open(path, writable=False) as reader:
        read = reader.evaluations()
    with Store.open(path) as writer:
        assert writer.evaluations() == read
    extras = [row["extra"] for row in _raw_rows(path).values()]
    assert _version(path) == SCHEMA_VERSION and not any(set(MOVED_KEYS) & set(e) for e in extras)
    with Store.open(path, writable=False) as again:
        assert again.evaluations() == read


def test_a_schema_1_store_is_refused_a_resume_saying_why_and_still_reports(tmp_path, capsys):
    # Every schema-1 store was drawn by pymoo 0.6.1.3 (the pin of the fmas-hw that wrote it): the
    # pymoo of today takes other random steps, so the search cannot be replayed, and says so.
    store = _copy(tmp_path)
    with Store.open(store, writable=False) as before:
        kept = before.evaluations()
    assert main(["search", "--resume", str(store), "--generations", "4"]) == 2
    err = capsys.readouterr().err
    assert f"cannot resume {store}: its generations were drawn by pymoo 0.6.1.3" in err
    assert f"this fmas-hw runs pymoo {pymoo.__version__}" in err and "start a new --store" in err
    with Store.open(store, writable=False) as after:
        assert after.evaluations() == kept and len(after.generations()) == 3
    out = tmp_path / "report"
    assert main(["report", "--store", str(store), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    assert "simulated gap8" in text.lower() and (out / "candidates.csv").is_file()
