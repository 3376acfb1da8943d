"""Scoring the whole final front on the full validation set (``report --full-set``) with a real tiny supernet."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing

import pytest

from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.voc import VocDataset
from fmas_hw.errors import ConfigError, StoreError
from fmas_hw.eval.evaluator import SubsetEvaluator
from fmas_hw.model.manifest import manifest_path
from fmas_hw.search import SearchConfig, run, supernet_evaluator
from fmas_hw.search.full_set import score_front_full_set
from fmas_hw.space import MobileNetV2Space
from fmas_hw.store import Store
from tests.conftest import finished_store, random_genomes

from .fakes import FAKE

MB = MobileNetV2Space()


@pytest.fixture
def genomes() -> list[str]:
    return random_genomes(MB, 3, seed=5)


@pytest.fixture(scope="module")
def scored(tmp_path_factory, tiny_mnv2_weights, synth_voc):
    """A store scored once: ``(store, rows, log lines)`` (shared: the scoring is the slow part)."""
    store = finished_store(tmp_path_factory.mktemp("full-set") / "s.sqlite", random_genomes(MB, 3, seed=5),
                   weights=str(tiny_mnv2_weights), data=str(synth_voc))
    lines: list[str] = []
    rows = score_front_full_set(store, log=lines.append)
    return store, rows, lines


def test_the_supernet_and_every_front_member_are_scored_on_the_whole_val_set(
        scored, genomes, tiny_mnv2_supernet, synth_voc):
    store, rows, lines = scored
    keys = [MB.supernet().key, *(MB.decode(g).key for g in genomes)]
    by_subset_error = [keys[0], keys[2], keys[1], keys[3]]  # supernet, then subset errors 0.3, 0.5, 0.7
    assert [r.arch_key for r in rows] == by_subset_error
    assert lines[0].startswith("full-set scoring: evaluating 4 of 4") and len(lines) == 5
    assert "gap " in lines[2] and "10 images" in lines[2]
    # The same weights on all 10 val images (the search's subset is 2 of them), one forward pass each.
    images, labels = load_split_arrays(VocDataset(synth_voc, 5), "val", 64, 1.0)
    reference = SubsetEvaluator(tiny_mnv2_supernet, images, labels)
    for row in rows:
        expected = reference.evaluate(MB.decode(row.genome))
        assert row.images == 10 and row.error == pytest.approx(expected.error, abs=1e-6)
        assert row.miou == pytest.approx(1 - row.error) and row.seconds > 0
    with Store.open(store, writable=False) as reader:
        assert reader.full_set.rows() == sorted(rows, key=lambda r: r.arch_key)


def test_members_already_scored_are_skipped(scored, tmp_path, monkeypatch):
    store = shutil.copy(scored[0], tmp_path / "copy.sqlite")
    first = scored[1]
    with closing(sqlite3.connect(store)) as plain, plain:  # as if killed before its last member
        plain.execute("DELETE FROM full_set WHERE arch_key = ?", (first[-1].arch_key,))
    scored: list[str] = []
    build = supernet_evaluator.build_subset_evaluator

    def counting(*args, **kwargs):
        evaluator = build(*args, **kwargs)
        evaluate = evaluator.evaluate
        evaluator.evaluate = lambda arch: scored.append(arch.key) or evaluate(arch)  # type: ignore[method-assign]
        return evaluator

    monkeypatch.setattr(supernet_evaluator, "build_subset_evaluator", counting)
    lines: list[str] = []
    again = score_front_full_set(store, log=lines.append)
    assert scored == [first[-1].arch_key] and lines[0].startswith("full-set scoring: evaluating 1 of 4")
    assert [r.arch_key for r in again] == [r.arch_key for r in first] and again[:-1] == first[:-1]
    monkeypatch.setattr(supernet_evaluator, "build_subset_evaluator",
                        lambda *a, **k: pytest.fail("nothing is left to score: no supernet may be built"))
    lines.clear()
    assert score_front_full_set(store, log=lines.append) == again
    assert lines == ["full-set scoring: evaluating 0 of 4 (the supernet and the final front) on the whole "
                     "validation set, 4 already scored"]


def test_a_fake_evaluator_store_is_refused_with_what_to_do(tmp_path):
    store = tmp_path / "fake.sqlite"
    run(SearchConfig(population=6, generations=1, evaluator=FAKE, store=str(store)))
    with pytest.raises(ConfigError, match="scored by the evaluator .*report without --full-set"):
        score_front_full_set(store)
    with Store.open(store, writable=False) as reader:
        assert not reader.full_set.exists()


def test_a_random_init_store_is_refused(tmp_path, synth_voc, genomes):
    store = finished_store(tmp_path / "r.sqlite", genomes, random_init=True, data=str(synth_voc))
    with pytest.raises(ConfigError, match="no supernet weights .*--random-init.*--weights FILE"):
        score_front_full_set(store)


def test_weights_changed_since_the_search_are_refused(tmp_path, tiny_mnv2_weights, synth_voc, genomes):
    weights = tmp_path / "w.h5"
    shutil.copy(tiny_mnv2_weights, weights)
    shutil.copy(manifest_path(tiny_mnv2_weights), manifest_path(weights))
    store = finished_store(tmp_path / "w.sqlite", genomes, weights=str(weights), data=str(synth_voc))
    with open(weights, "ab") as fh:
        fh.write(b"retrained")
    with pytest.raises(ConfigError, match="changed since the search"):
        score_front_full_set(store)
    weights.unlink()
    with pytest.raises(ConfigError, match="does not exist"):
        score_front_full_set(store)


def test_a_store_without_generations_is_a_store_error(tmp_path, tiny_mnv2_weights, synth_voc):
    path = tmp_path / "e.sqlite"
    cfg = SearchConfig(weights=str(tiny_mnv2_weights), data=str(synth_voc), input_size=64, classes=5, alpha=0.35)
    Store.create(path, {"config": cfg.to_dict(), "settings": cfg.settings.to_dict()}).close()
    with pytest.raises(StoreError, match="no finished generation"):
        score_front_full_set(path)
