"""The SQLite results store: round trips, uniqueness, and every error a user can hit."""

from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from fmas_hw.errors import StoreError
from fmas_hw.store import (
    SCHEMA_VERSION,
    EvaluationRecord,
    Gap8Fit,
    GenerationRecord,
    Latency,
    Store,
)

META = {"config": {"backbone": "mobilenetv2", "seed": 0, "population": 6}, "reference_point": [1.0, 1.1]}


def _record(key: str = "mobilenetv2-aaaa", status: str = "ok", cycles: int = 678, cycles_source: str = "estimate",
            **kw) -> EvaluationRecord:
    values = dict(error=0.25, flops=123, params=45, accuracy_seconds=1.5, latency_seconds=0.5,
                  latency=Latency(cycles, cycles_source, cycles_source == "estimate")) if status == "ok" else {}
    values.update(kw)
    return EvaluationRecord(arch_key=key, settings_digest="d1", genome="0101", arch={"layers": [[0, 1, 1]]},
                            status=status, generation=0, worker="host:1", **values)


def _generation(gen: int) -> GenerationRecord:
    return GenerationRecord(gen=gen, asked=[["0101", "k1"]], population=[["0101", "k1"]], front=["k1"],
                            hypervolume=0.5, n_evaluated=1, n_hits=0, n_failed=0, accuracy_seconds=1.5,
                            latency_seconds=0.5, device_seconds=2.0, cumulative_seconds=2.0,
                            wall_seconds=1.6, rng_digest="abc")


@pytest.fixture
def store(tmp_path):
    with Store.create(tmp_path / "s.sqlite", META) as s:
        yield s


def test_meta_round_trip(store):
    meta = store.meta()
    assert meta["config"] == META["config"] and meta["reference_point"] == [1.0, 1.1]
    assert meta["schema_version"] == SCHEMA_VERSION
    store.set_meta(scale={"flops": 2.0})
    assert store.meta()["scale"] == {"flops": 2.0}


def test_evaluation_round_trip_is_exact(store):
    rec = _record(error=0.1 + 0.2, extra={"user": [1, 2]}, fit=Gap8Fit(True, "fits: L2 90 %"))
    stored = store.add_evaluation(rec)
    assert stored.error == 0.1 + 0.2  # bit-exact floats: replaying a search depends on it
    assert stored.extra == {"user": [1, 2]} and stored.created > 0
    assert (stored.latency, stored.fit, stored.fits_gap8) == (rec.latency, rec.fit, True)
    assert store.get("mobilenetv2-aaaa", "d1") == stored
    assert store.get("mobilenetv2-aaaa", "other-settings") is None
    assert store.count() == 1


def test_a_measurement_with_its_estimate_round_trips_exactly(store):
    estimate = Latency(600, "estimate", True, {"label": "estimated (estimate)", "tool_versions": {"m": "1"}},
                       model="gap8_cycle_model.toml@abc+refit3")
    measured = Latency(655, "gvsoc", False, {"label": "measured (gvsoc)", "worker": "h:1", "output_ok": True})
    store.add_evaluation(_record("k1", latency=estimate))
    row = store.set_latency(_record("k1", latency=estimate.measured_at(4, measured), latency_seconds=9.0))
    assert row.latency == dataclasses.replace(measured, known_from=4, estimate=estimate) and row.latency_seconds == 9.0
    assert (row.cycles, row.cycles_source, row.latency.label) == (655, "gvsoc", "measured (gvsoc)")
    failed = store.set_latency(_record("k1", latency=estimate.failed_at(5, "TimeoutError: no answer")))
    assert failed.latency == dataclasses.replace(estimate, known_from=5, failure="TimeoutError: no answer")
    assert not failed.latency.measured_separately and failed.latency.estimate is None
    unknown = store.add_evaluation(_record("k2", fit=Gap8Fit(None, "fit unknown: no plan")))
    assert unknown.fit == Gap8Fit(None, "fit unknown: no plan") and unknown.fits_gap8 is None
    assert store.add_evaluation(_record("k3", status="failed")).latency is None


def test_get_many_and_status_filter(store):
    store.add_evaluation(_record("k1"))
    store.add_evaluation(_record("k2", status="failed", reason="RuntimeError: boom"))
    store.add_evaluation(_record("k3", status="rejected", reason="params", params=9))
    assert set(store.get_many(["k1", "k2", "nope"], "d1")) == {"k1", "k2"}
    assert [r.arch_key for r in store.evaluations("failed")] == ["k2"]
    assert store.evaluations("failed")[0].reason == "RuntimeError: boom"
    assert store.seconds_by_generation() == {0: (1.5, 0.5)}


def test_same_key_and_settings_is_refused(store):
    store.add_evaluation(_record())
    with pytest.raises(StoreError, match="already in store"):
        store.add_evaluation(_record())
    other = dataclasses.replace(_record(), settings_digest="d2")  # same network, other settings: a new row
    store.add_evaluation(other)
    assert store.count() == 2


def test_unknown_status_is_refused(store):
    with pytest.raises(StoreError, match="unknown evaluation status"):
        store.add_evaluation(_record(status="maybe"))


def test_a_search_store_takes_only_its_targets_figures_and_the_estimates(tmp_path):
    with Store.create(tmp_path / "g.sqlite", {**META, "config": {**META["config"], "target": "gvsoc"}}) as gvsoc:
        gvsoc.add_evaluation(_record("k1", cycles_source="estimate"))
        row = gvsoc.set_latency(_record("k1", cycles=700, cycles_source="gvsoc"))
        assert (row.cycles, row.cycles_source) == (700, "gvsoc")
        with pytest.raises(StoreError, match="cycles from the 'board' target do not belong in store .*'gvsoc'"):
            gvsoc.add_evaluation(_record("k2", cycles_source="board"))
        with pytest.raises(StoreError, match="'simulated' target do not belong"):
            gvsoc.set_latency(_record("k1", cycles_source="simulated"))
        assert gvsoc.get("k1", "d1").cycles_source == "gvsoc" and gvsoc.get("k2", "d1") is None


def test_generations_round_trip(store):
    store.add_generation(_generation(0))
    store.add_generation(_generation(1))
    gens = store.generations()
    assert [g.gen for g in gens] == [0, 1]
    assert gens[0].front == ["k1"] and gens[0].asked == [["0101", "k1"]]


def test_reopen_sees_committed_rows(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store.create(path, META) as s:
        s.add_evaluation(_record())
    with Store.open(path) as s:
        assert s.count() == 1


def test_create_refuses_existing_file(tmp_path):
    path = tmp_path / "s.sqlite"
    Store.create(path, META).close()
    with pytest.raises(StoreError, match="--resume"):
        Store.create(path, META)


def test_second_writer_is_refused_reader_is_not(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store.create(path, META) as writer:
        writer.add_evaluation(_record())
        with pytest.raises(StoreError, match="in use"):
            Store.open(path)
        with Store.open(path, writable=False) as reader:
            assert reader.count() == 1


@pytest.mark.parametrize("content, message", [
    (b"this is not a database at all" * 100, "not a readable fmas-hw store"),
    (b"", "not an fmas-hw search store"),
], ids=["garbage", "empty"])
def test_corrupt_file(tmp_path, content, message):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        Store.open(path)


def test_other_sqlite_file(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE x (y)")
    with pytest.raises(StoreError, match="not an fmas-hw search store"):
        Store.open(path)


def test_schema_version_mismatch(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store.create(path, META) as s:
        s.set_meta(schema_version=SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store.open(path)


def test_missing_file(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "nope.sqlite")


def test_check_config_names_every_differing_key(store):
    store.check_config({"backbone": "mobilenetv2", "seed": 0, "population": 6})
    with pytest.raises(StoreError) as info:
        store.check_config({"backbone": "xception", "seed": 1, "population": 6})
    assert "backbone: store has 'mobilenetv2', now 'xception'" in str(info.value)
    assert "seed: store has 0, now 1" in str(info.value)
    assert "population" not in str(info.value)


def test_a_store_without_a_finished_evaluation_is_discarded_one_with_results_is_kept(tmp_path):
    empty, used = tmp_path / "empty.sqlite", tmp_path / "used.sqlite"
    Store.create(empty, META).close()
    with Store.create(used, META) as s:
        s.add_evaluation(_record())
    assert Store.delete_if_unstarted(empty) and not empty.exists()
    Store.create(empty, META).close()  # the path is free again
    assert not Store.delete_if_unstarted(used)
    with Store.open(used, writable=False) as s:
        assert s.count() == 1


def test_a_store_being_written_or_not_a_store_is_never_discarded(tmp_path):
    running = tmp_path / "running.sqlite"
    with Store.create(running, META):  # a search still on its first evaluation holds the lock
        with pytest.raises(StoreError, match="in use"):
            Store.delete_if_unstarted(running)
    assert running.exists()
    other = tmp_path / "notes.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE x (y)")
    with pytest.raises(StoreError, match="not an fmas-hw search store"):
        Store.delete_if_unstarted(other)
    assert other.exists()


def test_check_config_compares_with_the_stored_config_as_read_today(store):
    store.check_config({"seed": 0, "random_init": False}, stored={**META["config"], "random_init": False})
    with pytest.raises(StoreError, match="random_init: store has None, now False"):
        store.check_config({"seed": 0, "random_init": False})  # as saved: the key is missing


def test_search_evaluations_are_those_under_the_stores_own_settings(tmp_path):
    store = Store.create(tmp_path / "s.sqlite", {"settings_digest": "mine"})
    try:
        store.add_evaluation(EvaluationRecord(arch_key="a", settings_digest="mine", genome="0", arch={}, status="ok", error=0.5))
        store.add_evaluation(EvaluationRecord(arch_key="b", settings_digest="other", genome="1", arch={}, status="ok", error=0.4))
        assert [r.arch_key for r in store.search_evaluations()] == ["a"]
        store.set_meta(settings_digest=None)  # written before the digest was recorded: all of them
        assert [r.arch_key for r in store.search_evaluations()] == ["a", "b"]
    finally:
        store.close()
