"""Learning from every measurement: the per-layer cycle cache."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from fmas_hw.errors import ConfigError, MeasurementError
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.cycle_model import LayerFeatures
from fmas_hw.targets.estimate import EstimateTarget
from fmas_hw.targets.layer_cache import GEOMETRY_FIELDS, MAX_SAMPLES, LayerConfig, LayerCycleCache

MB = MobileNetV2Space()

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
