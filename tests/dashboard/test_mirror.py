"""The Optuna mirror of a store: read back with Optuna's own API it matches the store row by row;
syncs are idempotent (no duplicate after a resume), rewritten rows are rebuilt in place, and a
file that is not the store's mirror is never written."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from datetime import datetime

import optuna
import pytest
from optuna.study import StudyDirection
from optuna.trial import TrialState

from fmas_hw.dashboard import export
from fmas_hw.dashboard.mirror import Mirror
from fmas_hw.dashboard.params import gene_params
from fmas_hw.dashboard.source import read
from fmas_hw.errors import DashboardError
from fmas_hw.search import run
from fmas_hw.space import arch_from_dict
from fmas_hw.store import Latency, Store
from fmas_hw.store.front import Limits, stored_front

from .conftest import search_config

STATES = {"failed": TrialState.FAIL, "rejected": TrialState.PRUNED}


def _load(path):
    [summary] = optuna.get_all_study_summaries(f"sqlite:///{path}")
    return optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{path}")


def test_the_study_read_back_with_optuna_matches_the_store_row_by_row(searched, tmp_path):
    done = export(searched, tmp_path / "study.db")
    study = _load(done.path)
    with Store.open(searched, writable=False) as store:
        rows = store.evaluations()
        config = store.meta()["config"]
        front = {r.arch_key for r in stored_front(store)}
    limits = Limits.from_config(config)
    assert {r.status for r in rows} == {"ok", "failed", "rejected"}, "the fixture must hold every kind of row"
    assert any(limits.violation(r) for r in rows), "and a row over the budget"

    assert study.study_name == "search" and study.metric_names == ["error", "cycles"]
    assert study.directions == [StudyDirection.MINIMIZE, StudyDirection.MINIMIZE]
    trials = study.get_trials()
    assert [t.user_attrs["arch_key"] for t in trials] == [r.arch_key for r in rows]  # one each, store order
    for trial, row in zip(trials, rows, strict=True):
        attrs = trial.user_attrs
        assert attrs["genome"] == row.genome and attrs["status"] == row.status
        assert attrs.get("generation") == row.generation
        assert attrs.get("flops") == row.flops and attrs.get("params") == row.params
        assert attrs.get("cycles") == row.cycles and attrs.get("fits_gap8") == row.fits_gap8
        assert attrs.get("gap8_memory") == (row.fit.memory if row.fit else None)
        assert attrs.get("cycles_source") == (row.latency.provenance["label"] if row.cycles is not None else None)
        assert trial.params == gene_params(arch_from_dict("mobilenetv2", row.arch))
        assert trial.datetime_complete == datetime.fromtimestamp(row.created)
        if row.status == "ok":
            assert trial.state == TrialState.COMPLETE and trial.values == [row.error, row.cycles]
            broken = limits.broken(row)
            assert attrs.get("over_budget") == (", ".join(broken) or None)
            assert bool(trial.constraints) == bool(broken) and all(v > 0 for v in trial.constraints.values())
        else:
            assert trial.state == STATES[row.status] and trial.values is None
            assert attrs["reason"] == row.reason
    assert {t.user_attrs["arch_key"] for t in study.best_trials} == front
    assert done.front == len(front) and done.synced.trials == len(rows)


def test_syncing_again_adds_nothing_and_a_resumed_search_only_its_new_candidates(tmp_path):
    store, study_db = tmp_path / "grow.sqlite", tmp_path / "grow.db"
    run(search_config(store, generations=2))
    first = export(store, study_db)
    again = export(store, study_db)
    assert again.synced.added == 0 and not again.synced.rebuilt and again.synced.trials == first.synced.trials

    run(search_config(store, generations=4), resume=store)
    resumed = export(store, study_db)
    assert not resumed.synced.rebuilt and resumed.synced.added > 0
    keys = [t.user_attrs["arch_key"] for t in _load(study_db).get_trials()]
    with Store.open(store, writable=False) as opened:
        assert keys == [r.arch_key for r in opened.evaluations()]
    assert len(set(keys)) == len(keys)


def test_a_row_the_store_rewrites_is_rebuilt_in_place_and_only_when_allowed(searched, tmp_path):
    study_db = tmp_path / "study.db"
    export(searched, study_db)
    study_id = _load(study_db)._study_id
    with Store.open(searched) as store:  # what a measurement after the estimate does (a front search on gvsoc)
        store.set_meta(config={**store.meta()["config"], "target": "gvsoc"})
        row = next(r for r in store.evaluations("ok") if r.cycles)
        store.set_latency(replace(row, latency=Latency(row.cycles // 2, "gvsoc", False, {"label": "measured (gvsoc)"})))

    search = read(searched)
    mirror = Mirror(study_db, search)
    held = mirror.sync(search, rebuild=False)
    assert held.stale and not held.rebuilt and held.added == 0
    rebuilt = mirror.sync(search)
    assert rebuilt.rebuilt and not rebuilt.stale

    study = _load(study_db)
    assert study._study_id == study_id, "the dashboard's page of the study stays where it was"
    [trial] = [t for t in study.get_trials() if t.user_attrs["arch_key"] == row.arch_key]
    assert trial.values == [row.error, row.cycles // 2] and trial.user_attrs["cycles_source"] == "measured (gvsoc)"
    assert len(study.get_trials()) == len(search.candidates)
    assert not mirror.sync(read(searched)).rebuilt


def _bytes_and_times(path):
    return path.read_bytes(), path.stat().st_mtime_ns


def test_a_file_that_is_not_this_stores_mirror_is_refused_and_left_as_it_was(searched, tmp_path):
    other = tmp_path / "other.sqlite"
    shutil.copy(searched, other)
    export(other, tmp_path / "other.db")  # the mirror of another store
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n")
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    foreign = tmp_path / "foreign.db"
    optuna.create_study(study_name="someone-else", storage=f"sqlite:///{foreign}")

    for path, says in [(searched, "is the search store itself"), (text, "not an Optuna study file"),
                       (plain, "not an Optuna study file"), (other, "not an Optuna study file"),
                       (foreign, "someone-else"), (tmp_path / "other.db", "mirrors another search store")]:
        before = _bytes_and_times(path)
        with pytest.raises(DashboardError, match=says):
            export(searched, path)
        assert _bytes_and_times(path) == before, path


def test_the_mirror_of_a_new_search_at_the_same_path_replaces_the_old_one(tmp_path):
    store, study_db = tmp_path / "again.sqlite", tmp_path / "again.db"
    run(search_config(store, generations=1))
    export(store, study_db)
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"again.sqlite{suffix}").unlink(missing_ok=True)
    run(search_config(store, generations=1, seed=7))
    done = export(store, study_db)
    assert done.synced.rebuilt
    with Store.open(store, writable=False) as opened:
        assert [t.user_attrs["arch_key"] for t in _load(study_db).get_trials()] == [
            r.arch_key for r in opened.evaluations()]
