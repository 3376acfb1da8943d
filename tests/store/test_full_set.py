"""The ``full_set`` table: written by ``report --full-set``, read by the report; old stores open unchanged."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest

from fmas_hw.errors import StoreError
from fmas_hw.store import FullSetRow, Store
from fmas_hw.store.full_set import COLUMNS

GENOME = "0000111111111111111111111111"


@pytest.fixture
def store_path(tmp_path):
    """A store as a search before this table wrote it: meta, evaluations, generations only."""
    path = tmp_path / "s.sqlite"
    Store.create(path, {"config": {}}).close()
    return path


def _sql(path, query: str) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as plain:
        return plain.execute(query).fetchall()


def test_an_old_store_opens_unchanged_and_has_no_rows(store_path):
    tables = {r[0] for r in _sql(store_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "full_set" not in tables
    with Store.open(store_path, writable=False) as reader:
        assert not reader.full_set.exists()
        assert reader.full_set.rows() == [] and reader.full_set.get("k") is None
    with Store.open(store_path) as writer:  # opening writable creates nothing either
        assert writer.full_set.rows() == []
    assert {r[0] for r in _sql(store_path, "SELECT name FROM sqlite_master WHERE type = 'table'")} == tables


def test_record_round_trip_and_upsert(store_path):
    with Store.open(store_path) as store:
        first = store.full_set.record(FullSetRow("k1", GENOME, np.float32(0.25), np.float64(0.75), np.int64(10), 1.5))
        assert first.created is not None and isinstance(first.error, float) and first.images == 10
        store.full_set.record(FullSetRow("k0", GENOME, 0.4, 0.6, 10, 0.5))
        store.full_set.record(FullSetRow("k1", GENOME, 0.3, 0.7, 10, 2.0))  # replaces k1's row
    with Store.open(store_path, writable=False) as reader:
        rows = reader.full_set.rows()
        assert [r.arch_key for r in rows] == ["k0", "k1"]
        assert reader.full_set.get("k1") == FullSetRow("k1", GENOME, 0.3, 0.7, 10, 2.0, created=rows[1].created)
        assert reader.full_set.get("k1").error == 0.3
    columns = [r[1] for r in _sql(store_path, "PRAGMA table_info(full_set)")]
    assert tuple(columns) == COLUMNS
    assert _sql(store_path, "SELECT arch_key, error, images FROM full_set ORDER BY arch_key") == [
        ("k0", 0.4, 10), ("k1", 0.3, 10)]


def test_a_read_only_store_refuses_to_write(store_path):
    with Store.open(store_path, writable=False) as reader, pytest.raises(StoreError, match="cannot write"):
        reader.full_set.record(FullSetRow("k1", GENOME, 0.3, 0.7, 10, 2.0))


@pytest.mark.parametrize(("values", "message"), [
    ({"error": 1.5}, r"error must be a number in \[0, 1\]"),
    ({"error": float("nan")}, "error must be"),
    ({"miou": -0.1}, "miou must be"),
    ({"seconds": -1.0}, "seconds must be a number >= 0"),
    ({"images": 0}, "images must be >= 1"),
], ids=["error-range", "error-nan", "miou", "seconds", "images"])
def test_invalid_rows_are_refused(values, message):
    good = {"arch_key": "k", "genome": GENOME, "error": 0.3, "miou": 0.7, "images": 10, "seconds": 1.0}
    with pytest.raises(StoreError, match=message):
        FullSetRow.from_columns({**good, **values})


@pytest.mark.parametrize(("columns", "message"), [
    ({"arch_key": "k", "genome": GENOME, "error": 0.3, "miou": 0.7, "images": 10}, r"missing \['seconds'\]"),
    ({"arch_key": "k", "genome": GENOME, "error": 0.3, "miou": 0.7, "images": 10, "seconds": 1, "x": 1},
     r"unknown \['x'\]"),
], ids=["missing", "unknown"])
def test_rows_need_exactly_the_tables_columns(columns, message):
    with pytest.raises(StoreError, match=message):
        FullSetRow.from_columns(columns)


def test_a_store_with_full_set_rows_is_not_discarded_as_unstarted(store_path):
    with Store.open(store_path) as store:
        store.full_set.record(FullSetRow("k1", GENOME, 0.3, 0.7, 10, 2.0))
    assert Store.delete_if_unstarted(store_path) is False and store_path.is_file()
