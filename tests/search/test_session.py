"""A search session and its ask/tell loop with in-process fake evaluators: determinism, store as cache,
constraints, failures, resume by replay."""

from __future__ import annotations

import dataclasses
import subprocess
from collections import Counter

import pytest

from fmas_hw.errors import ConfigError, StoreError, WeightsError
from fmas_hw.search import SearchConfig, constraints, run, stored_config
from fmas_hw.space import get_space
from fmas_hw.store import Store
from fmas_hw.targets.gvsoc import GvsocTarget
from fmas_hw.targets.measurement import Measurement

from .fakes import read_log


def _generations(config: SearchConfig):
    with Store.open(config.store, writable=False) as store:
        return store.generations()


def _evaluations(config: SearchConfig, status: str | None = None):
    with Store.open(config.store, writable=False) as store:
        return store.evaluations(status)


def test_same_seed_same_search_other_seed_other_search(make_config):
    a, b, c = make_config("a"), make_config("b"), make_config("c", seed=1)
    ra, rb = run(a), run(b)
    run(c)
    assert ra.front == rb.front and ra.hypervolume == rb.hypervolume
    assert [g.asked for g in _generations(a)] == [g.asked for g in _generations(b)]
    assert [g.population for g in _generations(a)] == [g.population for g in _generations(b)]
    assert [g.asked for g in _generations(a)] != [g.asked for g in _generations(c)]


def test_generation_0_is_supernet_plus_random_distinct(make_config):
    config = make_config()
    run(config)
    gen0 = _generations(config)[0]
    space = get_space("mobilenetv2")
    assert gen0.asked[0][0] == space.supernet_genome
    assert len(gen0.asked) == 6 and len({key for _, key in gen0.asked}) == 6


def test_every_candidate_evaluated_once(make_config, fake_log):
    config = make_config(backbone="xception", population=4, generations=6, seed=8)
    result = run(config)
    gens = _generations(config)
    asked_keys = [key for g in gens for _, key in g.asked]
    assert result.store_hits >= 1, "this seed re-asks for a dropped candidate: it must come from the store"
    assert len(asked_keys) == result.evaluations + result.store_hits
    rows = _evaluations(config)
    assert len(rows) == len(set(asked_keys)) == result.evaluations
    calls = Counter(words[1] for words in read_log(fake_log) if words[0] == "accuracy")
    assert set(calls) == {r.arch_key for r in rows} and max(calls.values()) == 1


def test_generation_records(make_config):
    config = make_config(objectives=("flops", "latency"))
    result = run(config)
    gens = _generations(config)
    assert [g.gen for g in gens] == [0, 1, 2] and result.generations == 3
    assert len(result.hypervolume) == 3 and all(h > 0 for h in result.hypervolume)
    # The search's hypervolume is of everything evaluated so far: never below the population's.
    assert all(h >= g.hypervolume - 1e-12 for h, g in zip(result.hypervolume, gens, strict=True))
    assert all(set(g.front) <= {key for _, key in g.population} for g in gens)
    total = sum(r.device_seconds for r in _evaluations(config))
    assert gens[-1].cumulative_seconds == pytest.approx(total)
    assert {"genome", "key", "error", "flops", "latency", "params", "cycles"} <= set(result.front[0])
    assert result.front[0]["latency"] == result.front[0]["cycles"]


def _non_dominated_keys(rows, objectives, max_cycles=None):
    """The feasible non-dominated rows by pairwise comparison (independent of the package)."""
    columns = {"flops": "flops", "params": "params", "latency": "cycles"}
    pool = [(r.arch_key, (r.error, *(getattr(r, columns[o]) for o in objectives))) for r in rows
            if r.status == "ok" and (max_cycles is None or r.cycles <= max_cycles)]
    return {k for k, a in pool
            if not any(all(x <= y for x, y in zip(b, a, strict=True)) and b != a for _, b in pool)}


@pytest.mark.parametrize(("seed", "overrides"), [
    (0, {}), (1, {"objectives": ("flops", "latency")}), (2, {"max_cycles": 400_000_000}),
    (3, {"backbone": "xception", "objectives": ("params",)}),
], ids=["flops", "flops-latency", "max-cycles", "xception"])
def test_the_front_is_that_of_every_evaluation_and_its_hypervolume_never_falls(make_config, seed, overrides):
    config = make_config(seed=seed, population=6, generations=6, **overrides)
    result = run(config)
    rows = _evaluations(config)
    expected = _non_dominated_keys(rows, config.objectives, config.max_cycles)
    assert {e["key"] for e in result.front} == expected and expected
    assert all(b >= a for a, b in zip(result.hypervolume, result.hypervolume[1:], strict=False))


def test_a_candidate_survival_dropped_stays_on_the_front(make_config):
    """Some generation's population lost a non-dominated candidate; the search still reports it."""
    lost = []
    for seed in range(6):
        config = make_config(f"s{seed}", seed=seed, population=4, generations=8, objectives=("flops", "latency"))
        result = run(config)
        population_front = set(_generations(config)[-1].front)
        lost += [e["key"] for e in result.front if e["key"] not in population_front]
    assert lost, "no seed lost a front member to survival: the case this test covers did not happen"


def test_ga_random_state_is_isolated_from_the_evaluator(make_config):
    plain = run(make_config("plain"))
    noisy = run(make_config("noisy", evaluator="tests.search.fakes:build_rng_consuming_evaluator"))
    assert plain.front == noisy.front


def test_max_params_rejects_before_paying_for_accuracy(make_config, fake_log):
    budget = 1_300_000  # the fake supernet has 1.78 M parameters
    config = make_config(max_params=budget, generations=4)
    result = run(config)
    assert result.front and all(e["params"] <= budget for e in result.front)
    rejected = _evaluations(config, "rejected")
    assert rejected and result.rejected == len(rejected)
    assert all(r.error is None and "max_params" in r.reason and r.params > budget for r in rejected)
    evaluated = {words[1] for words in read_log(fake_log) if words[0] == "accuracy"}
    assert not evaluated & {r.arch_key for r in rejected}


def test_max_cycles_constraint(make_config):
    budget = 1_000_000_000
    result = run(make_config(max_cycles=budget, objectives=("params",)))
    assert result.front and all(e["cycles"] <= budget for e in result.front)


def test_fit_gap8_uses_the_memory_hook(make_config, monkeypatch):
    monkeypatch.setattr(constraints, "fits_gap8", lambda arch, classes=21, alpha=1.0:
                        (len(arch.layers) <= 14, "activations exceed L2"))
    config = make_config(fit_gap8=True)
    result = run(config)
    assert result.front and all(len(get_space("mobilenetv2").decode(e["genome"]).layers) <= 14
                                for e in result.front)
    assert all(r.fits_gap8 is False for r in _evaluations(config, "rejected"))


def test_without_fit_gap8_unfittable_candidates_are_evaluated_but_flagged(make_config):
    # Every Xception candidate's constants exceed GAP8's HyperRAM (the real memory plan).
    config = make_config(backbone="xception", objectives=("latency",), generations=2)
    result = run(config)
    rows = _evaluations(config)
    assert rows and all(r.status == "ok" for r in rows)  # not rejected: --fit-gap8 is off
    assert all(r.fits_gap8 is False and "HyperRAM" in r.fit.memory for r in rows)
    assert result.front and all(e["fits_gap8"] is False for e in result.front)


def test_fitting_candidates_are_flagged_as_fitting(make_config):
    config = make_config(generations=1)
    run(config)
    supernet = get_space("mobilenetv2").supernet().key
    by_key = {r.arch_key: r for r in _evaluations(config)}
    assert by_key[supernet].fits_gap8 is True
    assert all(r.fits_gap8 is not None for r in by_key.values())


def test_failing_candidates_are_stored_and_the_search_goes_on(make_config):
    config = make_config(evaluator="tests.search.fakes:build_failing_evaluator", generations=4)
    result = run(config)
    failed = _evaluations(config, "failed")
    assert result.generations == 4 and result.front
    assert failed and result.failures == len(failed)
    assert all("RuntimeError: fake accuracy failure" in r.reason and r.error is None for r in failed)
    assert not {e["key"] for e in result.front} & {r.arch_key for r in failed}


def test_evaluator_that_cannot_be_built_stops_the_search(make_config):
    with pytest.raises(WeightsError, match="weights not found"):
        run(make_config(evaluator="tests.search.fakes:build_broken_evaluator"))


def test_unknown_evaluator_module_is_a_config_error(make_config):
    with pytest.raises(ConfigError, match="not found"):
        run(make_config(evaluator="no_such_module_xyz:build"))


def test_resume_extends_a_finished_search_exactly(make_config):
    straight = run(make_config("straight", generations=5))
    first = make_config("resumed", generations=2)
    part = run(first)
    resumed = run(first.merge({"generations": 5}), resume=first.store)
    assert resumed.front == straight.front and resumed.hypervolume == straight.hypervolume
    assert part.evaluations + resumed.evaluations == straight.evaluations
    assert resumed.store_hits >= part.evaluations  # the replay is served by the store


def test_resume_with_another_config_names_the_keys(make_config):
    config = make_config()
    run(config)
    with pytest.raises(StoreError, match=r"seed: store has 0, now 7"):
        run(config.merge({"seed": 7}), resume=config.store)


def test_resume_with_another_cycle_model_is_refused(make_config, monkeypatch, tmp_path):
    from fmas_hw.costmodel.cycle_model import model_path

    config = make_config()
    run(config)
    refit = tmp_path / "refit.toml"
    refit.write_text("# recalibrated\n" + model_path().read_text())
    monkeypatch.setenv("FMAS_CYCLE_MODEL", str(refit))
    with pytest.raises(StoreError, match=r"target_identity: store has 'estimate:gap8_cycle_model.toml@\w+', "
                                         r"now 'estimate:refit.toml@\w+'"):
        run(config.merge({"generations": 4}), resume=config.store)


class _InstantGvsoc(GvsocTarget):
    """GVSoC with its real identity (read from the SDK folder) but instant, SDK-free runs."""

    def check_ready(self) -> None:
        pass  # its runs need no SDK

    def measure_candidate(self, spec, projects=None, timeout_s=None) -> Measurement:
        return Measurement(int(spec.genome, 2) + 1, [], 175_000_000, "gvsoc", False, self.runner.tool_versions())


def _git(sdk, *args):
    subprocess.run(["git", "-C", str(sdk), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)


def test_a_gvsoc_search_refuses_to_resume_across_an_sdk_change(make_config, monkeypatch, tmp_path):
    sdk = tmp_path / "gap_sdk"
    makefile = sdk / "tools" / "autotiler_v3" / "Makefile"
    makefile.parent.mkdir(parents=True)
    makefile.write_text("TILER_VER=4.3.0\n")
    _git(sdk, "init", "-q")
    _git(sdk, "add", "-A")
    _git(sdk, "commit", "-q", "-m", "sdk")
    _git(sdk, "tag", "release-v4.21.0")
    monkeypatch.setenv("GAP_SDK_HOME", str(sdk))
    config = make_config(target="gvsoc", objectives=("latency",))
    run(config, target=_InstantGvsoc())
    run(config.merge({"generations": 4}), resume=config.store, target=_InstantGvsoc())  # same SDK: resumes
    makefile.write_text("TILER_VER=4.4.0\n")
    _git(sdk, "commit", "-q", "-am", "tiler")
    _git(sdk, "tag", "release-v4.22.0")
    with pytest.raises(StoreError, match=r"target_identity: store has 'gvsoc:gap_sdk=release-v4\.21\.0,route=open,"
                                         r"backend=open-1,protocol=1', now 'gvsoc:gap_sdk=release-v4\.22\.0,"):
        run(config.merge({"generations": 5}), resume=config.store, target=_InstantGvsoc())


def test_a_store_from_before_target_identities_names_the_difference(make_config):
    config = make_config()
    run(config)
    with Store.open(config.store) as store:  # what an earlier fmas-hw saved
        saved = {k: v for k, v in store.meta()["config"].items() if k != "target_identity"}
        store.set_meta(config={**saved, "cycle_model": "gap8_cycle_model.toml@446019f3843a"})
    with pytest.raises(StoreError, match="target_identity: store has None"):
        run(config.merge({"generations": 4}), resume=config.store)
    with Store.open(config.store) as store:
        store.set_meta(config={**store.meta()["config"], "evaluator": "fmas_hw.eval.candidate:build_evaluator"})
    old = stored_config(config.store)  # what `fmas-hw search --resume` starts from: no unknown key
    assert old.evaluator is None and old.target_identity is None


def test_a_store_from_before_the_settings_were_resolved_resumes(make_config):
    config = make_config()
    run(config)
    with Store.open(config.store) as store:  # what an earlier fmas-hw saved: None = the manifest's
        saved = {k: v for k, v in store.meta()["config"].items() if k != "random_init"}
        store.set_meta(config={**saved, "classes": None, "alpha": None})
    old = stored_config(config.store)  # what `fmas-hw search --resume` starts from
    assert (old.classes, old.alpha, old.random_init) == (21, 1.0, False)  # a fake evaluator: not random init
    assert run(config.merge({"generations": 4}), resume=config.store).generations == 4


def test_an_earlier_search_without_weights_reads_back_as_random_init(tmp_path):
    path = tmp_path / "old.sqlite"
    Store.create(path, {"config": {"backbone": "mobilenetv2", "weights": None, "classes": None,
                                   "evaluator": "fmas_hw.eval.candidate:build_evaluator"}}).close()
    old = stored_config(path)
    assert old.random_init and old.evaluator is None and old.classes == 21


def test_resume_cannot_shrink_a_search(make_config):
    config = make_config()
    run(config)
    with pytest.raises(StoreError, match="already holds 3 generations"):
        run(config.merge({"generations": 2}), resume=config.store)


def test_new_search_refuses_an_existing_store(make_config):
    config = make_config()
    run(config)
    with pytest.raises(StoreError, match="--resume"):
        run(config)


def test_resume_detects_a_diverging_replay(make_config):
    config = make_config()
    run(config)
    with Store.open(config.store) as store:
        store.add_generation(dataclasses.replace(store.generations()[1], rng_digest="tampered"))
    with pytest.raises(StoreError, match="diverged .* generation 1"):
        run(config, resume=config.store)


def test_xception_multi_objective(make_config):
    result = run(make_config(backbone="xception", objectives=("flops", "params")))
    assert result.front and all({"flops", "params"} <= set(e) for e in result.front)


@pytest.mark.parametrize("how", ["moved", "copied"])
def test_a_moved_or_copied_store_resumes_where_it_lies_with_its_projects(tmp_path, make_config, how):
    import shutil

    first = tmp_path / "a"
    config = make_config(store=str(first / "s.sqlite"), population=4, generations=1, target="simulated",
                         objectives=("latency",))
    run(config)
    projects = sorted(p.name for p in (first / "s" / "projects").iterdir())
    assert projects
    moved = tmp_path / "b"
    (shutil.move if how == "moved" else shutil.copytree)(first, moved)
    stamps = {p: p.stat().st_mtime_ns for p in (moved / "s" / "projects").rglob("candidate.json")}
    result = run(stored_config(moved / "s.sqlite").merge({"generations": 2}), resume=moved / "s.sqlite")
    assert result.store_path == (moved / "s.sqlite").resolve() and result.generations == 2
    assert result.store_hits >= 4  # generation 0 came from the moved store
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # its projects were reused in place
    assert {p.name for p in (moved / "s" / "projects").iterdir()} >= set(projects)
    if how == "moved":
        assert not first.exists()  # nothing written where the store used to be
