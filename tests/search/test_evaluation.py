"""The evaluator interface: concurrency of accuracy and latency, factories, settings, worker."""

from __future__ import annotations

import time

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.search import CandidateEvaluator, EvalSettings, Evaluation, SearchConfig
from fmas_hw.search.evaluation import evaluate_candidate, make_evaluator
from fmas_hw.search.worker import score
from fmas_hw.space import get_space
from fmas_hw.store import EvaluationRecord, Gap8Fit, Latency

from .fakes import FakeEvaluator, build_fake_evaluator

SUPERNET = get_space("mobilenetv2").supernet()


def _timed(overlap: bool) -> tuple[Evaluation, float]:
    evaluator = FakeEvaluator(384, accuracy_sleep=0.2, latency_sleep=0.2)
    started = time.perf_counter()
    result = evaluate_candidate(evaluator, SUPERNET, need_latency=True, overlap=overlap)
    return result, time.perf_counter() - started


def test_accuracy_and_latency_overlap():
    overlapped, t_overlap = _timed(True)
    sequential, t_seq = _timed(False)
    assert t_seq >= 0.4 and t_overlap < 0.35, (t_overlap, t_seq)
    assert overlapped.error == sequential.error and overlapped.cycles == sequential.cycles
    assert overlapped.cycles_source == "estimate" and overlapped.accuracy_seconds >= 0.2


def test_without_latency_no_cycles():
    result = evaluate_candidate(FakeEvaluator(384), SUPERNET, need_latency=False)
    assert result.cycles is None and result.cycles_source is None and result.flops > 0


def test_an_evaluation_and_its_row_round_trip_through_their_wire_form():
    result = Evaluation(status="ok", error=0.25, flops=10, params=2,
                        latency=Latency(7, "gvsoc", False, {"label": "measured (gvsoc)"}, known_from=3,
                                        estimate=Latency(6, "estimate", True, model="m+refit2")),
                        fit=Gap8Fit(False, "L2 over by 3 kB"), accuracy_seconds=1.0, latency_seconds=2.0,
                        extra={"a": 1}, worker="h:1")
    assert Evaluation.from_dict(result.to_dict()) == result
    row = EvaluationRecord.of(result, arch_key="k", settings_digest="d", genome="01", arch={}, generation=2)
    assert EvaluationRecord.from_dict(row.to_dict()) == row
    assert (row.cycles, row.cycles_source, row.fits_gap8, row.worker) == (7, "gvsoc", False, "h:1")


def test_settings_digest_is_stable_and_sensitive():
    a = EvalSettings("mobilenetv2", None, 0.2, None, 384, "estimate")
    assert a.digest == EvalSettings(**a.to_dict()).digest and len(a.digest) == 16
    assert a.digest != EvalSettings("mobilenetv2", None, 0.2, None, 384, "gvsoc").digest


def test_make_evaluator_calls_the_factory_with_the_config():
    evaluator = make_evaluator(SearchConfig(evaluator="tests.search.fakes:build_fake_evaluator", input_size=64))
    assert isinstance(evaluator, CandidateEvaluator) and evaluator.input_size == 64


@pytest.mark.parametrize("spec, message", [
    ("no_such_module_xyz:f", "cannot be imported"),
    ("tests.search.fakes:nope", "has no callable 'nope'"),
    ("tests.search.fakes:SUPERNET_STRIDE", "has no callable"),
    ("tests.search.fakes:build_not_an_evaluator", "lacks costs"),
    ("fmas_hw.search.supernet_evaluator:build_supernet_evaluator", "built-in evaluator needs no factory"),
], ids=["module", "attribute", "not-callable", "not-an-evaluator", "project-module"])
def test_make_evaluator_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_evaluator(SearchConfig(evaluator=spec))


def test_score_turns_exceptions_into_failed_outcomes():
    config = SearchConfig(evaluator="tests.search.fakes:build_failing_evaluator")
    evaluator = FakeEvaluator(384, fail_every=1)
    arch = get_space("mobilenetv2").decode("1111000000000000000000000000")
    outcome = score(evaluator, config, arch)
    assert outcome.status == "failed" and "RuntimeError: fake accuracy failure" in outcome.reason
    assert outcome.flops and outcome.flops > 0 and outcome.params and outcome.error is None
    assert Evaluation.from_dict(outcome.to_dict()) == outcome


def test_score_never_rejects_the_reference():
    config = SearchConfig(max_params=10)
    evaluator = build_fake_evaluator(config)
    assert score(evaluator, config, SUPERNET).status == "rejected"
    assert score(evaluator, config, SUPERNET, reference=True).status == "ok"
