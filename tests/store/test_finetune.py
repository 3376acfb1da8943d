"""The ``finetune`` table contract between ``fmas-hw finetune`` (writer) and ``fmas-hw report``."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import numpy as np
import pytest

from fmas_hw.errors import StoreError
from fmas_hw.store import FinetuneRow, Store
from fmas_hw.store import finetune as finetune_store

GENOME = "0000111111111111111111111111"


@pytest.fixture
def store_path(tmp_path):
    """An empty fmas-hw store (no finetune table yet)."""
    path = tmp_path / "s.sqlite"
    Store.create(path, {"config": {}}).close()
    return path


@pytest.fixture
def conn(store_path):
    with closing(finetune_store.connect(store_path)) as connection:
        yield connection


def test_no_table_means_no_rows(conn):
    assert not finetune_store.has_table(conn)
    assert finetune_store.rows(conn) == [] and finetune_store.get(conn, "k") is None


def test_ensure_table_is_idempotent_and_store_stays_readable(conn, store_path):
    finetune_store.ensure_table(conn)
    finetune_store.ensure_table(conn)
    assert finetune_store.has_table(conn)
    with Store.open(store_path, writable=False) as store:
        assert store.evaluations() == []
    columns = [r[1] for r in conn.execute("PRAGMA table_info(finetune)")]
    assert tuple(columns) == finetune_store.COLUMNS


def test_record_round_trip_and_upsert(conn):
    running = finetune_store.record(conn, FinetuneRow("k1", GENOME, "running", error_subset_before=0.31))
    assert running.created is not None and finetune_store.get(conn, "k1").status == "running"
    done = FinetuneRow("k1", GENOME, "done", np.float32(0.31), 0.33, np.float64(0.30), epochs=np.int64(7),
                       seconds=5400.0, weights_path="ft/k1.h5", val_loss=[0.9, 0.8, 0.75])
    finetune_store.record(conn, done)
    (row,) = finetune_store.rows(conn)
    assert row.status == "done" and row.done and row.epochs == 7 and row.val_loss == [0.9, 0.8, 0.75]
    assert row.error_full_after == 0.30 and row.error_subset_before == pytest.approx(0.31)
    assert conn.execute("SELECT val_loss_json FROM finetune").fetchone()[0] == "[0.9, 0.8, 0.75]"


def test_record_accepts_a_mapping_of_columns(conn):
    finetune_store.record(conn, {"arch_key": "k2", "genome": GENOME, "status": "failed",
                                 "val_loss_json": "[1.5]"})
    finetune_store.record(conn, {"arch_key": "k1", "genome": GENOME, "status": "done", "error_full_after": 0.2})
    assert [r.arch_key for r in finetune_store.rows(conn)] == ["k1", "k2"]
    assert [r.arch_key for r in finetune_store.rows(conn, status="failed")] == ["k2"]
    assert finetune_store.get(conn, "k2").val_loss == [1.5] and not finetune_store.get(conn, "k2").done


def test_committed_rows_are_visible_to_a_read_only_connection(conn, store_path):
    finetune_store.record(conn, FinetuneRow("k1", GENOME, "done", error_full_after=0.25))
    with closing(finetune_store.connect(store_path, writable=False)) as reader:
        assert finetune_store.get(reader, "k1").error_full_after == 0.25
        with pytest.raises(StoreError, match="cannot write"):
            finetune_store.record(reader, FinetuneRow("k2", GENOME, "done"))


@pytest.mark.parametrize(("row", "message"), [
    ({"arch_key": "k", "genome": GENOME, "status": "finished"}, "status 'finished' unknown"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "error_full_after": 42.0}, r"error in \[0, 1\]"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "error_full_after": float("nan")}, "error in"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "seconds": -1}, "seconds >= 0"),
    ({"arch_key": "k", "genome": GENOME, "status": "done", "miou": 0.7}, "unknown finetune column"),
    ({"arch_key": "k", "status": "done"}, "needs"),
], ids=["status", "error-range", "error-nan", "seconds", "unknown-column", "missing-genome"])
def test_invalid_rows_are_refused(conn, row, message):
    with pytest.raises(StoreError, match=message):
        finetune_store.record(conn, row)


def test_connect_to_a_missing_store(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        finetune_store.connect(tmp_path / "nope.sqlite")


def test_table_matches_the_create_statement(tmp_path):
    with closing(sqlite3.connect(tmp_path / "plain.sqlite")) as plain:
        finetune_store.ensure_table(plain)
        sql = plain.execute("SELECT sql FROM sqlite_master WHERE name = 'finetune'").fetchone()[0]
    assert "arch_key TEXT PRIMARY KEY" in sql and "CHECK (status IN ('done', 'failed', 'running'))" in sql


def test_rows_read_like_the_mappings_written(conn):
    written = {"arch_key": "k1", "genome": GENOME, "status": "done", "error_full_after": 0.2,
               "val_loss_json": "[0.5, 0.4]"}
    finetune_store.record(conn, written)
    (row,) = finetune_store.rows(conn)
    assert row["arch_key"] == "k1" and row["status"] == "done" and row["val_loss_json"] == "[0.5, 0.4]"
    assert row["val_loss"] == [0.5, 0.4] and row.get("epochs") is None and row.get("nope", 3) == 3
    assert {k: v for k, v in row.to_columns().items() if k in written} == written
    with pytest.raises(KeyError):
        row["nope"]
