"""Which candidates ``fmas-hw finetune`` picks: the most accurate of the search's front."""

from __future__ import annotations

from fmas_hw.store import EvaluationRecord, GenerationRecord, Store
from fmas_hw.training.finetune import final_front

CONFIG = {"backbone": "mobilenetv2", "objectives": ["flops"]}


def _row(key: str, error: float, flops: int, gen: int) -> EvaluationRecord:
    return EvaluationRecord(arch_key=key, settings_digest="d", genome=key, arch={}, status="ok", error=error, flops=flops, generation=gen)


def test_finetune_takes_the_front_of_everything_evaluated_not_the_last_population(tmp_path):
    with Store.create(tmp_path / "s.sqlite", {"config": CONFIG, "settings_digest": "d"}) as store:
        # 'lost' is non-dominated, but the last population (and its front) no longer holds it.
        for row in (_row("best", 0.2, 900, 0), _row("lost", 0.3, 400, 0), _row("cheap", 0.6, 100, 1),
                    _row("worse", 0.5, 500, 1)):
            store.add_evaluation(row)
        store.add_generation(GenerationRecord(1, [], [["best", "best"], ["cheap", "cheap"], ["worse", "worse"]],
                                              ["best", "worse", "cheap"], 0.5, 2, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, "r"))
        assert final_front(store, 8) == [("best", "best", 0.2), ("lost", "lost", 0.3), ("cheap", "cheap", 0.6)]
        assert [key for key, _, _ in final_front(store, 2)] == ["best", "lost"]


def _searched_store(tmp_path, weights, data):
    from fmas_hw.space import get_space
    from tests.conftest import finished_store, random_genomes

    return finished_store(tmp_path / "s.sqlite", random_genomes(get_space("mobilenetv2"), 3, seed=5),
                          weights=str(weights), data=str(data))


def _other(tmp_path, weights):
    other = tmp_path / "other.h5"
    other.write_bytes(weights.read_bytes() + b"\0")  # another content under another name
    return other


def _fake_training(monkeypatch):
    """Record a done row per candidate instead of training (the weights check is what is tested)."""
    import fmas_hw.training.finetune as module
    from fmas_hw.store import FinetuneRow

    def fake(session, todo, store, done, log):
        for key, genome, error in todo:
            done[key] = store.finetune.record(FinetuneRow(key, genome, "done", error, error, error - 0.01, 1, 1.0))

    monkeypatch.setattr(module, "_finetune_all", fake)
    monkeypatch.setattr(module, "_Session", lambda cfg, search_cfg: None)


def test_finetune_refuses_weights_other_than_the_searchs(tmp_path, tiny_mnv2_weights, synth_voc, capsys):
    from fmas_hw.cli.main import main

    store = _searched_store(tmp_path, tiny_mnv2_weights, synth_voc)
    assert main(["finetune", "--store", str(store), "--weights", str(_other(tmp_path, tiny_mnv2_weights))]) == 2
    err = capsys.readouterr().err
    assert "error: the weights" in err and "not the ones the search" in err and "--other-weights" in err
    with Store.open(store, writable=False) as s:
        assert s.finetune.rows() == [] and "finetune_weights" not in s.meta()


def test_other_weights_when_asked_are_labelled_in_the_store_and_the_report(tmp_path, tiny_mnv2_weights,
                                                                           synth_voc, capsys, monkeypatch):
    from fmas_hw.cli.main import main
    from fmas_hw.report import write_report

    store = _searched_store(tmp_path, tiny_mnv2_weights, synth_voc)
    other = _other(tmp_path, tiny_mnv2_weights)
    _fake_training(monkeypatch)
    assert main(["finetune", "--store", str(store), "--weights", str(other), "--other-weights", "--top", "2"]) == 0
    out = capsys.readouterr()
    assert f"[other weights: {other}, not the search's]" in out.err + out.out
    with Store.open(store, writable=False) as s:
        assert s.meta()["finetune_weights"]["search"] is False and len(s.finetune.rows("done")) == 2
    text = write_report(store, tmp_path / "r").markdown.read_text()
    assert f"**Other weights**: the fine-tuning started from `{other}`" in text
    # The rows done from those weights are never mixed with rows from the search's own weights.
    assert main(["finetune", "--store", str(store), "--top", "3"]) == 2
    assert "one store's fine-tuning must start from one supernet" in capsys.readouterr().err
