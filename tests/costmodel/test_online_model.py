"""Learning from every measurement: the per-layer cycle cache and the online refit of the model.

"The hardware" here is the cycle model under other constants, with a further per-layer error
derived from each layer's configuration (the same layer always errs the same way), so the packaged
model is wrong in a way a refit can learn, and a measured layer has cycles no model predicts.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from dataclasses import replace

import numpy as np
import pytest

from fmas_hw.costmodel.calibrate import FIT_RULES, Record, log_errors
from fmas_hw.costmodel.cycle_model import (
    LayerFeatures,
    layer_cycles,
    load_cycle_model,
    model_identity,
    rescaled,
    write_cycle_model,
)
from fmas_hw.costmodel.layer_cache import GEOMETRY_FIELDS, MAX_SAMPLES, LayerConfig, LayerCycleCache
from fmas_hw.costmodel.online_model import STATE_SUFFIX, OnlineCycleModel, RefitPolicy
from fmas_hw.errors import ConfigError, MeasurementError
from fmas_hw.gap8.candidate_file import CandidateSpec
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.estimate import EstimateTarget
from tests.conftest import random_genomes

MB = MobileNetV2Space()
GENOMES = [MB.supernet_genome, *random_genomes(MB, 9, seed=14)]
SEEN = 6  # runs the online model observes; the others are held out

GEOMETRY = {"in_shape": (48, 48, 32), "out_shape": (48, 48, 64), "kernel": (1, 1), "strides": (1, 1),
            "dilations": (1, 1), "padding": (0, 0, 0, 0), "activation": "relu6", "tile_shape": (8, 64, 32),
            "tile_bytes": 40_000, "weights_in_l2": True, "in_l3_bytes": 0, "out_l3_bytes": 0}
LAYER = LayerFeatures(name="S7_Conv", kind="conv", ops=4_718_592, in_channels=32, out_channels=64, tiles=6,
                      l1_bytes=230_000, extra=GEOMETRY)
# Another value for every field of the key (of the field's type).
CHANGED = {"kind": "depthwise", "ops": 4_718_593, "in_channels": 33, "out_channels": 65, "stride": 2,
           "dilation": 2, "interpolation": "bilinear", "tiles": 7, "l1_bytes": 230_001, "l3_bytes": 1,
           "in_shape": (48, 48, 33), "out_shape": (24, 48, 64), "kernel": (3, 3), "strides": (2, 2),
           "dilations": (2, 2), "padding": (1, 1, 1, 1), "activation": "relu", "tile_shape": (4, 64, 32),
           "tile_bytes": 40_001, "weights_in_l2": False, "in_l3_bytes": 1, "out_l3_bytes": 1}


def _changed(field: str) -> LayerFeatures:
    if field in GEOMETRY_FIELDS:
        return replace(LAYER, extra={**GEOMETRY, field: CHANGED[field]})
    return replace(LAYER, **{field: CHANGED[field]})


# -- the cache -------------------------------------------------------------------------------------


def test_every_field_of_the_configuration_is_in_the_key():
    assert set(CHANGED) == {f for f in LayerConfig.__dataclass_fields__}


def test_same_configuration_hits_whatever_the_layer_is_called():
    cache = LayerCycleCache()
    cache.add(LAYER, 1234.4, "gvsoc")
    assert cache.lookup(replace(LAYER, name="S99_Other", extra=dict(GEOMETRY))) == 1234


@pytest.mark.parametrize("field", sorted(CHANGED), ids=sorted(CHANGED))
def test_any_field_different_misses(field):
    cache = LayerCycleCache()
    cache.add(LAYER, 1000, "gvsoc")
    assert LayerConfig.of(_changed(field)) != LayerConfig.of(LAYER)
    assert cache.lookup(_changed(field)) is None


def test_a_layer_without_geometry_only_meets_layers_without_one():
    cache = LayerCycleCache()
    bare = replace(LAYER, extra={})
    cache.add(bare, 500, "board")
    assert cache.lookup(LAYER) is None and cache.lookup(replace(bare, name="x")) == 500


def test_cycles_are_the_median_of_the_newest_repeats():
    cache = LayerCycleCache()
    for cycles in (100, 300, 200):
        cache.add(LAYER, cycles, "gvsoc")
    assert cache.lookup(LAYER) == 200 and len(cache) == 1
    for _ in range(MAX_SAMPLES):
        cache.add(LAYER, 900, "gvsoc")
    assert cache.lookup(LAYER) == 900 and len(cache.items()[0][1].samples) == MAX_SAMPLES


def test_one_cache_holds_one_targets_measurements():
    cache = LayerCycleCache()
    cache.add(LAYER, 100, "gvsoc")
    with pytest.raises(MeasurementError, match="one cache per measurement target"):
        cache.add(LAYER, 100, "board")
    with pytest.raises(MeasurementError, match="must be > 0"):
        cache.add(LAYER, 0, "gvsoc")


def test_cache_round_trips_through_json(tmp_path):
    cache = LayerCycleCache()
    layers = [LAYER, *(_changed(f) for f in ("kernel", "weights_in_l2", "ops")), replace(LAYER, extra={})]
    for i, layer in enumerate(layers):
        cache.add(layer, 1000 + i, "board")
        cache.add(layer, 2000 + i, "board")
    path = cache.save(tmp_path / "search.db.layers.json")
    back = LayerCycleCache.load(path)
    assert back.source == "board" and back.items() == cache.items()
    assert [back.lookup(layer) for layer in layers] == [1500 + i for i in range(len(layers))]
    assert json.loads(path.read_text())["entries"][0]["config"]["in_shape"] == [48, 48, 32]


@pytest.mark.parametrize("content, error", [
    ('{"schema": 99, "entries": []}', "schema 99"),
    ('{"schema": 1, "entries": [{"config": {"kind": "conv"}, "name": "x", "samples": [1]}]}', "entry 0"),
    ("not json", "cannot read"),
], ids=["schema", "entry", "not-json"])
def test_unreadable_cache_is_an_error_that_says_what(tmp_path, content, error):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises((ConfigError, MeasurementError), match=error):
        LayerCycleCache.load(path)


def test_graph_layers_carry_their_whole_configuration():
    features, _ = EstimateTarget().features(MB.decode(MB.supernet_genome))
    assert all(set(f.extra) == set(GEOMETRY_FIELDS) for f in features)
    configs = [LayerConfig.of(f) for f in features if f.runs]
    assert configs and all(getattr(c, name) is not None for c in configs for name in GEOMETRY_FIELDS)
    kernels = {c.kernel for c in configs if c.kind == "conv"}
    assert {(1, 1), (3, 3)} <= kernels


# -- the online model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def truth():
    """'Hardware' constants away from the packaged ones (scale 1) and a per-layer error of +-4 %."""
    rng = np.random.default_rng(14)
    start = rescaled(load_cycle_model(), 1.0)
    return start.with_params(**{k: start.params[k] * float(rng.uniform(0.7, 1.4)) for k in FIT_RULES})


def _measured(f: LayerFeatures, true) -> int:
    digest = hashlib.sha256(json.dumps(LayerConfig.of(f).to_dict()).encode()).digest()
    wobble = 1.0 + 0.08 * (digest[0] / 255 - 0.5)
    return round(layer_cycles(f, true.params) * wobble)


@pytest.fixture(scope="module")
def runs(truth):
    """Per candidate: its layer features (those that run) and what 'the hardware' measured."""
    target = EstimateTarget()
    out = []
    for genome in GENOMES:
        features = [f for f in target.features(MB.decode(genome))[0] if f.runs]
        out.append([Record(f, _measured(f, truth)) for f in features])
    return out


@pytest.fixture(scope="module")
def learnt(runs):
    online = OnlineCycleModel.from_file()
    for records in runs[:SEEN]:
        online.observe(records, "gvsoc")
    return online


def _rms(x) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def test_refit_reduces_the_error_on_layers_never_measured(runs, learnt):
    unseen = [r for records in runs[SEEN:] for r in records if learnt.cache.lookup(r.features) is None]
    assert len(unseen) >= 10
    before, after = _rms(log_errors(unseen, load_cycle_model())), _rms(log_errors(unseen, learnt.model))
    assert learnt.mode == "constants" and after < 0.5 * before, (before, after)


def test_each_run_is_predicted_before_it_is_learnt_from(runs, learnt):
    first = EstimateTarget().measurement([r.features for r in runs[0]]).total_cycles
    assert learnt.prediction_errors[0] == pytest.approx(np.log(first / sum(r.cycles for r in runs[0])))
    assert len(learnt.prediction_errors) == SEEN
    assert learnt.rms_prediction_error(last=SEEN - 1) < 0.2 * abs(learnt.prediction_errors[0])


def test_held_out_candidates_are_estimated_closer(runs, learnt):
    online, default = EstimateTarget(online=learnt), EstimateTarget()
    for records in runs[SEEN:]:
        features = [r.features for r in records]
        true = sum(r.cycles for r in records)
        error = abs(online.measurement(features).total_cycles / true - 1)
        assert error < 0.5 * abs(default.measurement(features).total_cycles / true - 1)


def test_a_candidate_measured_layer_by_layer_is_predicted_from_measurements_alone(runs, learnt):
    spec = CandidateSpec(MB.decode(GENOMES[0]))
    estimate = EstimateTarget(online=learnt).measure_candidate(spec)
    assert estimate.total_cycles == sum(r.cycles for r in runs[0])
    assert [layer.cycles for layer in estimate.per_layer] == [r.cycles for r in runs[0]]
    assert estimate.tool_versions["cache_layers"] == f"{len(runs[0])}/{len(runs[0])}"
    assert estimate.estimated and estimate.label == "estimated (estimate)"
    assert estimate.tool_versions["cycle_model_version"] == learnt.identity()


def test_only_the_scale_is_refitted_until_enough_layers_are_measured(runs):
    online = OnlineCycleModel.from_file()
    few = runs[0][:8]
    assert online.observe(few, "gvsoc") and online.mode == "scale"
    predicted = sum(p.cycles for p in online.predict([replace(r.features, extra={}) for r in few]))
    assert predicted == pytest.approx(sum(r.cycles for r in few), rel=1e-3)
    online.observe(runs[0], "gvsoc")
    assert online.mode == "constants" and online.version == 2


def test_each_refit_bumps_the_version_in_the_identity(runs):
    online = OnlineCycleModel.from_file(policy=RefitPolicy(every=3))
    assert online.identity() == f"{model_identity()}+refit0"
    assert online.observe(runs[0], "board") and online.identity().endswith("+refit1")
    assert [online.observe(records, "board") for records in runs[1:4]] == [False, False, True]
    assert online.identity() == f"{model_identity()}+refit2" and online.observations == 4
    assert EstimateTarget(online=online).identity() == f"estimate:{model_identity()}+refit2"


def test_state_round_trips_exactly(tmp_path, runs, learnt):
    path = learnt.save(tmp_path / f"search.db{STATE_SUFFIX}")
    back = OnlineCycleModel.load(path, load_cycle_model(), model_identity())
    assert back.identity() == learnt.identity() and back.model == learnt.model
    assert back.prediction_errors == learnt.prediction_errors
    features = [r.features for records in runs for r in records]
    assert back.predict(features) == learnt.predict(features)
    assert pickle.loads(pickle.dumps(learnt)).predict(features) == learnt.predict(features)


def test_state_learnt_on_another_model_is_refused(tmp_path, learnt):
    path = learnt.save(tmp_path / "state.json")
    other = write_cycle_model(rescaled(load_cycle_model(), 2.0), tmp_path / "other.toml")
    with pytest.raises(ConfigError, match="learnt on top of"):
        OnlineCycleModel.load(path, load_cycle_model(other), model_identity(other))
    with pytest.raises(ConfigError, match="same file"):
        EstimateTarget(model_file=other, online=learnt)


@pytest.mark.parametrize("records, source, error", [
    ([], "gvsoc", "nothing to learn"),
    ([Record(LAYER, 10)], "hardware", "not 'hardware'"),  # an unknown source: Measurement refuses it first
    ([Record(LAYER, 10)], "board", "not 'board'"),
    ([Record(_changed("ops"), 10), Record(LAYER, 0)], "gvsoc", "not for S7_Conv"),
], ids=["no-records", "unknown-source", "other-source", "zero-cycles"])
def test_observe_refuses_what_it_cannot_learn_from(records, source, error):
    online = OnlineCycleModel.from_file()
    online.observe([Record(_changed("kernel"), 10)], "gvsoc")
    with pytest.raises((ConfigError, MeasurementError), match=error):
        online.observe(records, source)
    assert len(online.cache) == 1 and online.observations == 1  # nothing of the refused run kept


def test_a_model_started_from_a_saved_cache_has_learnt_from_it(tmp_path, runs, learnt):
    path = learnt.cache.save(tmp_path / "search.db.layers.json")
    resumed = OnlineCycleModel.from_file(cache=LayerCycleCache.load(path))
    assert resumed.mode == "constants" and resumed.version == 1
    features = [r.features for r in runs[0]]
    assert resumed.predict(features) == learnt.predict(features)  # all measured: from the cache


def test_refit_policy_settings_are_checked():
    with pytest.raises(ConfigError, match="every must be >= 1"):
        RefitPolicy(every=0)


# -- the default estimate stays as it was -----------------------------------------------------------


def test_the_default_estimate_is_unchanged_and_a_fresh_online_model_agrees():
    spec = CandidateSpec(MB.decode(GENOMES[1]))
    default = EstimateTarget().measure_candidate(spec)
    assert set(default.tool_versions) == {"cycle_model", "cycle_model_file", "scale", "memory_fits"}
    assert EstimateTarget().identity() == f"estimate:{model_identity()}"
    fresh = EstimateTarget(online=OnlineCycleModel.from_file()).measure_candidate(spec)
    assert fresh.total_cycles == default.total_cycles and fresh.per_layer == default.per_layer
    assert fresh.tool_versions["cache_layers"] == f"0/{len(default.per_layer)}"
