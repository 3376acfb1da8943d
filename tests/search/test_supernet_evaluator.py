"""The built-in search evaluator: costs and accuracy without Keras models, latency as a Measurement."""

from __future__ import annotations

import pytest

from fmas_hw.data.cache import load_split_arrays
from fmas_hw.data.voc import VocDataset
from fmas_hw.errors import ConfigError
from fmas_hw.eval.evaluator import SubsetEvaluator
from fmas_hw.search.evaluation import evaluate_candidate
from fmas_hw.search.supernet_evaluator import SupernetEvaluator
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.registry import open_target

MB = MobileNetV2Space()


def _evaluator(supernet, data, target="estimate", work_dir=None) -> SupernetEvaluator:
    images, labels = load_split_arrays(VocDataset(data, 5), "val", 64, 0.2)
    return SupernetEvaluator(supernet, SubsetEvaluator(supernet, images, labels), open_target(target), work_dir)


def test_search_evaluation_builds_no_keras_model(tiny_mnv2_supernet, synth_voc, monkeypatch):
    from fmas_hw.eval.costs import analytic_flops, count_params
    from fmas_hw.model import builder

    evaluator = _evaluator(tiny_mnv2_supernet, synth_voc)
    arch = MB.decode("1111" + MB.supernet_genome[4:])
    keras_model = builder.build_model(arch, 64, 5, 0.35)
    monkeypatch.setattr(builder, "_build", lambda *a: pytest.fail("a Keras model was built for a candidate"))
    assert evaluator.costs(arch) == {"params": count_params(keras_model), "flops": analytic_flops(keras_model)}
    error, seconds = evaluator.accuracy(arch)
    assert 0 <= error <= 1 and seconds > 0


def test_latency_is_the_targets_measurement_and_reaches_the_row(tiny_mnv2_supernet, synth_voc):
    evaluator = _evaluator(tiny_mnv2_supernet, synth_voc)
    arch = MB.decode("1111" + MB.supernet_genome[4:])
    measured, seconds = evaluator.latency(arch)
    assert measured.source == "estimate" and measured.estimated and measured.total_cycles > 0
    assert seconds >= 0
    result = evaluate_candidate(evaluator, arch, need_latency=True, overlap=False)
    assert result.cycles == measured.total_cycles and result.cycles_source == "estimate"
    kept = result.latency.provenance
    assert kept["label"] == "estimated (estimate)"
    assert kept["tool_versions"] == measured.tool_versions and "cycle_model" in kept["tool_versions"]


def test_a_firmware_target_without_a_work_folder_is_a_config_error(tiny_mnv2_supernet, synth_voc):
    evaluator = _evaluator(tiny_mnv2_supernet, synth_voc, target="gvsoc")
    with pytest.raises(ConfigError, match="work folder"):
        evaluator.latency(MB.supernet())
