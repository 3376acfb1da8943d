"""The ``finetune`` table contract between ``fmas-hw finetune`` (writer) and ``fmas-hw report``."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest

from fmas_hw.errors import StoreError
from fmas_hw.store import FinetuneRow, Store
from fmas_hw.store.finetune import COLUMNS

GENOME = "0000111111111111111111111111"


@pytest.fixture
def store_path(tmp_path):
    """An empty fmas-hw store (no finetune table yet)."""
    path = tmp_path / "s.sqlite"
    Store.create(path, {"config": {}}).close()
    return path


@pytest.fixture
def store(store_path):
    with Store.open(store_path) as opened:
        yield opened


def _sql(path, query: str) -> list[tuple]:
    """Rows of ``query`` read from the file itself (what another program would see)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as plain:
        return plain.execute(query).fetchall()


def test_no_table_means_no_rows(store):
    assert not store.finetune.exists()
    assert store.finetune.rows() == [] and store.finetune.get("k") is None


def test_ensure_table_is_idempotent_and_store_stays_readable(store, store_path):
    store.finetune.ensure()
    store.finetune.ensure()
    assert store.finetune.exists()
    with Store.open(store_path, writable=False) as reader:
        assert reader.evaluations() == []
    columns = [r[1] for r in _sql(store_path, "PRAGMA table_info(finetune)")]
    assert tuple(columns) == COLUMNS


def test_record_round_trip_and_upsert(store, store_path):
    running = store.finetune.record(FinetuneRow("k1", GENOME, "running", error_subset_before=0.31))
    assert running.created is not None and store.finetune.get("k1").status == "running"
    done = FinetuneRow("k1", GENOME, "done", np.float32(0.31), 0.33, np.float64(0.30), epochs=np.int64(7),
                       seconds=5400.0, weights_path="ft/k1.h5", val_loss=[0.9, 0.8, 0.75])
    store.finetune.record(done)
    (row,) = store.finetune.rows()
    assert row.status == "done" and row.done and row.epochs == 7 and row.val_loss == [0.9, 0.8, 0.75]
    assert row.error_full_after == 0.30 and row.error_subset_before == pytest.approx(0.31)
    assert _sql(store_path, "SELECT val_loss_json FROM finetune")[0][0] == "[0.9, 0.8, 0.75]"


def test_record_accepts_a_row_built_from_columns(store):
    store.finetune.record(FinetuneRow.from_columns({"arch_key": "k2", "genome": GENOME, "status": "failed",
                                                    "val_loss_json": "[1.5]"}))
    store.finetune.record(FinetuneRow.from_columns({"arch_key": "k1", "genome": GENOME, "status": "done",
                                                    "error_full_after": 0.2}))
    assert [r.arch_key for r in store.finetune.rows()] == ["k1", "k2"]
    assert [r.arch_key for r in store.finetune.rows(status="failed")] == ["k2"]
    assert store.finetune.get("k2").val_loss == [1.5] and not store.finetune.get("k2").done


def test_committed_rows_are_visible_to_a_read_only_store(store, store_path):
    store.finetune.record(FinetuneRow("k1", GENOME, "done", error_full_after=0.25))
    with Store.open(store_path, writable=False) as reader:
        assert reader.finetune.get("k1").error_full_after == 0.25
        with pytest.raises(StoreError, match="cannot write"):
            reader.finetune.record(FinetuneRow("k2", GENOME, "done"))


@pytest.mark.parametrize(("row", "message"), [
    ({"arch_key": "k", "genome": GENOME, "status": "finished"}, "status 'finished' unknown"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "error_full_after": 42.0}, r"error in \[0, 1\]"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "error_full_after": float("nan")}, "error in"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "seconds": -1}, "seconds >= 0"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "miou": 0.7}, "unknown finetune column"),
    ({"arch_key": "k", "status": "done"}, "needs"),
], ids=["status", "error-range", "error-nan", "seconds", "unknown-column", "missing-genome"])
def test_invalid_rows_are_refused(store, row, message):
    with pytest.raises(StoreError, match=message):
        store.finetune.record(FinetuneRow.from_columns(row))
    assert not store.finetune.exists()  # refused before anything is written


def test_open_a_missing_store(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nope.sqlite")


def test_table_matches_the_create_statement(store, store_path):
    store.finetune.ensure()
    sql = _sql(store_path, "SELECT sql FROM sqlite_master WHERE name = 'finetune'")[0][0]
    assert "arch_key TEXT PRIMARY KEY" in sql and "CHECK (status IN ('done', 'failed', 'running'))" in sql


def test_rows_read_back_like_the_columns_written(store):
    written = {"arch_key": "k1", "genome": GENOME, "status": "done", "error_full_after": 0.2,
               "val_loss_json": "[0.5, 0.4]"}
    store.finetune.record(FinetuneRow.from_columns(written))
    (row,) = store.finetune.rows()
    assert row.arch_key == "k1" and row.status == "done" and row.to_columns()["val_loss_json"] == "[0.5, 0.4]"
    assert row.val_loss == [0.5, 0.4] and row.epochs is None
    assert {k: v for k, v in row.to_columns().items() if k in written} == written


def test_rows_are_frozen(store):
    row = store.finetune.record(FinetuneRow("k1", GENOME, "running"))
    with pytest.raises(AttributeError):
        row.status = "done"
