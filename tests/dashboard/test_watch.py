"""The background sync against real searches: it never writes the search's store (a finished one
stays byte for byte, a running one is only ever opened read-only), and a search killed and
resumed while it polls ends mirrored once per candidate, its report rewritten as it goes."""

from __future__ import annotations

import os
import signal
import sqlite3
from dataclasses import replace

import optuna
import pytest

from fmas_hw.dashboard import source
from fmas_hw.dashboard.mirror import Mirror
from fmas_hw.dashboard.pages import ReportPages
from fmas_hw.dashboard.watch import Watcher
from fmas_hw.store import Latency, Store

from .conftest import SLOW, fmas_hw, query, stop, wait_for

SEARCH = ["search", "--population", "6", "--seed", "5", "--evaluator", SLOW]


def _files(store):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(store.parent.glob(f"{store.name}*"))}


def test_a_finished_store_is_left_byte_for_byte_and_nothing_is_written_beside_it(searched, tmp_path):
    before = _files(searched)
    watcher = Watcher(searched, Mirror(tmp_path / "study.db", source.read(searched)), ReportPages(tmp_path / "r"),
                      log=lambda m: (_ for _ in ()).throw(AssertionError(m)))
    assert watcher.sync() is not None and watcher.sync() is None  # the second poll reads nothing
    assert (tmp_path / "r" / "v1" / "report.html").is_file()
    assert _files(searched) == before


def test_a_row_measured_after_the_last_generation_reaches_study_and_report_once_due(searched, tmp_path):
    pages = ReportPages(tmp_path / "report")
    watcher = Watcher(searched, Mirror(tmp_path / "study.db", source.read(searched)), pages,
                      rebuild_every=3600, report_quiet=3600)
    assert watcher.sync().rebuilt and pages.current.name == "v1"
    with Store.open(searched) as store:  # what --measure front on gvsoc does after the last generation
        store.set_meta(config={**store.meta()["config"], "target": "gvsoc"})
        row = next(r for r in store.evaluations("ok") if r.cycles)
        store.set_latency(replace(row, latency=Latency(row.cycles // 2, "gvsoc", False, {"label": "measured (gvsoc)"})))
    held = watcher.sync()
    assert held.stale and not held.rebuilt and pages.current.name == "v1"
    assert watcher.sync() is None, "neither a rebuild nor the report is due yet"

    watcher.rebuild_every = watcher.report_quiet = 0
    done = watcher.sync()
    assert done.rebuilt and not done.stale and pages.current.name == "v2"
    assert f"{row.cycles // 2 / 1e6:.0f} Mcycles (GVSoC)" in (pages.current / "report.html").read_text()
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{tmp_path / 'study.db'}")
    [trial] = [t for t in study.get_trials() if t.user_attrs["arch_key"] == row.arch_key]
    assert trial.values[1] == row.cycles // 2 and trial.user_attrs["cycles_source"] == "measured (gvsoc)"
    assert watcher.sync() is None


@pytest.mark.slow
def test_a_search_killed_and_resumed_while_polled_is_mirrored_once_per_candidate(tmp_path, monkeypatch):
    store, log = tmp_path / "live.sqlite", tmp_path / "search.log"
    opened = []
    connect = sqlite3.connect

    def spy(database, *args, **kwargs):
        opened.append((str(database), kwargs.get("uri", False)))
        return connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", spy)
    speed = {"FMAS_FAKE_ACC_S": "0.15", "FMAS_FAKE_LAT_S": "0.02"}
    proc = fmas_hw(*SEARCH, "--generations", "3", "--store", str(store), log=log, **speed)
    try:
        wait_for("the search's first evaluation", lambda: query(store, "SELECT COUNT(*) FROM evaluations")[:1]
                 not in ([], [(0,)]), proc)
        pages, said = ReportPages(tmp_path / "report"), []
        watcher = Watcher(store, Mirror(tmp_path / "live.db", source.read(store)), pages, log=said.append)
        counts = []

        def poll() -> None:  # what the dashboard's thread does, its trial count noted
            synced = watcher.sync()
            counts.extend([synced.trials] if synced else [])

        wait_for("generation 1", lambda: poll() or bool(query(store, "SELECT 1 FROM evaluations WHERE generation >= 1")),
                 proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        poll()
        killed_at = len(query(store, "SELECT id FROM evaluations"))

        resumed = fmas_hw("search", "--resume", str(store), "--generations", "4", log=tmp_path / "resume.log",
                          **speed)
        try:
            wait_for("the resumed search", lambda: poll() or resumed.poll() is not None, timeout=120)
        finally:
            stop(resumed)
        assert resumed.returncode == 0, (tmp_path / "resume.log.err").read_text()
        poll()
    finally:
        stop(proc)

    with Store.open(store, writable=False) as done:
        keys, generations = [r.arch_key for r in done.evaluations()], len(done.generations())
    study = optuna.load_study(study_name="live", storage=f"sqlite:///{tmp_path / 'live.db'}")
    mirrored = [t.user_attrs["arch_key"] for t in study.get_trials()]
    assert mirrored == keys and len(set(mirrored)) == len(mirrored), "a candidate twice, or one missing"
    assert len(keys) > killed_at and generations == 4
    assert counts == sorted(counts) and len(set(counts)) > 2, f"the study grew while the searches ran: {counts}"
    assert killed_at in counts and counts[-1] == len(keys)
    assert f"{generations} generation(s) finished" in (pages.current / "report.html").read_text()
    assert int(pages.current.name[1:]) > 2 and said == [], "the report was rewritten as the search went on"
    to_store = [(db, uri) for db, uri in opened if "live.sqlite" in db]
    assert to_store and all(uri and db.startswith("file:") and "mode=ro" in db for db, uri in to_store), to_store
