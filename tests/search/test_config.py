"""SearchConfig: defaults, TOML loading, precedence, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.search import SearchConfig
from fmas_hw.search.config import load_toml


def test_defaults_resolve_per_backbone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mnv2 = SearchConfig().resolved()
    assert (mnv2.population, mnv2.generations, mnv2.input_size, mnv2.objectives) == (12, 25, 384, ("flops",))
    assert Path(mnv2.store).parent == tmp_path / "runs" and mnv2.store.endswith(".sqlite")
    xception = SearchConfig(backbone="xception").resolved()
    assert (xception.generations, xception.input_size) == (20, 513)


def test_the_network_settings_come_from_the_manifest_unless_given(tiny_mnv2_weights):
    from_manifest = SearchConfig(weights=str(tiny_mnv2_weights)).resolved()
    assert (from_manifest.input_size, from_manifest.classes, from_manifest.alpha) == (64, 5, 0.35)
    assert from_manifest.settings.input_size == 64  # what the store keys every score by
    given = SearchConfig(weights=str(tiny_mnv2_weights), input_size=96, classes=3).resolved()
    assert (given.input_size, given.classes, given.alpha) == (96, 3, 0.35)
    assert given.network().sources == {"input_size": "given", "classes": "given", "alpha": "given"}
    assert SearchConfig(weights=str(tiny_mnv2_weights)).network().sources == {
        "input_size": "manifest", "classes": "manifest", "alpha": "manifest"}


def test_a_manifest_of_another_backbone_is_refused_when_resolving(tiny_mnv2_weights):
    from fmas_hw.errors import WeightsError

    with pytest.raises(WeightsError, match="pass --backbone mobilenetv2"):
        SearchConfig(backbone="xception", weights=str(tiny_mnv2_weights)).resolved()


@pytest.mark.parametrize("value, expected", [
    ("latency", ("latency",)),
    ("flops, params", ("flops", "params")),
    (["flops", "latency,params"], ("flops", "latency", "params")),
    (("PARAMS", "params"), ("params",)),
], ids=["one", "comma", "mixed", "dedup"])
def test_objectives_parsing(value, expected):
    assert SearchConfig(objectives=value).objectives == expected


def test_toml_then_overrides(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('backbone = "xception"\nobjectives = ["params"]\npopulation = 8\nseed = 3\n'
                    'store = "runs/x.sqlite"\nmax-params = 30000000\n')
    from_file = SearchConfig.from_toml(path)
    assert (from_file.backbone, from_file.objectives, from_file.population, from_file.seed) == \
        ("xception", ("params",), 8, 3)
    assert from_file.store == str(tmp_path / "runs/x.sqlite")  # relative to the file
    assert from_file.max_params == 30_000_000
    merged = from_file.merge({"seed": 9, "population": None, "objective": "latency"})
    assert (merged.seed, merged.population, merged.objectives) == (9, 8, ("latency",))


def test_search_table_is_accepted(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('[search]\ngenerations = 4\n')
    assert load_toml(path) == {"generations": 4}


def test_unknown_keys_are_named(tmp_path):
    path = tmp_path / "search.toml"
    path.write_text('popsize = 8\nseeed = 1\nseed = 2\n')
    with pytest.raises(ConfigError, match=r"unknown search config key\(s\) \['popsize', 'seeed'\]"):
        SearchConfig.from_toml(path)


def test_bad_toml_and_missing_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("population = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        SearchConfig.from_toml(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        SearchConfig.from_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize("key, value, message", [
    ("backbone", "resnet", "backbone 'resnet' unknown"),
    ("objectives", ("flops", "energy"), r"objective\(s\) \['energy'\]"),
    ("target", "", "target must be a target's name"),
    ("population", 2, "population must be an integer >= 4"),
    ("generations", 0, "generations must be an integer >= 1"),
    ("val_fraction", 0.0, r"val_fraction must be in \(0, 1\]"),
    ("seed", -1, "seed must be an integer >= 0"),
    ("workers", 0, "workers must be an integer >= 1"),
    ("max_params", 0, "max_params must be a positive integer"),
    ("input_size", 16, "input_size must be an integer >= 32"),
    ("evaluator", "nocolon", "package.module:callable"),
    ("data", "/no/such/dir", "data path /no/such/dir does not exist"),
    ("fit_gap8", "yes", "must be true/false"),
], ids=lambda v: str(v)[:12])
def test_invalid_values(key, value, message):
    with pytest.raises(ConfigError, match=message):
        SearchConfig(**{key: value})


def test_a_target_name_is_checked_when_the_config_is_resolved():
    with pytest.raises(ConfigError, match="target 'fpga' unknown"):
        SearchConfig(target="fpga").resolved()
    assert SearchConfig(target="simulated").resolved().target_identity.startswith("simulated:")


def test_identity_ignores_runtime_keys():
    a = SearchConfig(workers=1, generations=3, store="a.sqlite")
    b = a.merge({"workers": 4, "generations": 9, "store": "b.sqlite", "scheduler": "tcp://h:1", "overlap": False})
    assert a.identity() == b.identity() and a.digest == b.digest
    assert a.digest != a.merge({"seed": 1}).digest


def test_settings_digest_tracks_weights_content(tmp_path):
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"one")
    first = SearchConfig(weights=str(weights)).settings
    weights.write_bytes(b"two")
    second = SearchConfig(weights=str(weights)).settings
    assert first.weights_hash != second.weights_hash and first.digest != second.digest


