"""What a search checks before it creates its store: weights, data and the target."""

from __future__ import annotations

import shutil

import pytest

from fmas_hw.data import cache
from fmas_hw.data.voc import VocDataset
from fmas_hw.errors import ConfigError, DataError, SdkMissingError, WeightsError
from fmas_hw.search import SearchConfig
from fmas_hw.search.preflight import check_ready

from .fakes import FAKE


def _builtin(data, **overrides) -> SearchConfig:
    values = dict(data=str(data), population=4, generations=1)
    values.update(overrides)
    return SearchConfig(**values).resolved()


def test_the_built_in_evaluator_needs_weights_or_an_explicit_random_init(synth_voc, tiny_mnv2_weights):
    with pytest.raises(ConfigError, match="no --weights: a randomly initialised supernet"):
        check_ready(_builtin(synth_voc, input_size=64, classes=5))
    check_ready(_builtin(synth_voc, input_size=64, classes=5, random_init=True))
    check_ready(_builtin(synth_voc, weights=str(tiny_mnv2_weights)))
    with pytest.raises(ConfigError, match="contradict"):
        check_ready(_builtin(synth_voc, weights=str(tiny_mnv2_weights), random_init=True))


def test_a_file_that_is_not_a_weight_file_is_refused(synth_voc, tmp_path):
    fake = tmp_path / "w.h5"
    fake.write_text("not hdf5")
    with pytest.raises(WeightsError, match="cannot read weight file"):
        check_ready(_builtin(synth_voc, weights=str(fake)))


def test_no_data_is_refused(tiny_mnv2_weights):
    with pytest.raises(ConfigError, match="needs a VOC-format data set"):
        check_ready(SearchConfig(weights=str(tiny_mnv2_weights)).resolved())


def test_the_subset_is_decoded_once_in_the_check_and_read_from_the_cache_after(
        synth_voc, tmp_path, tiny_mnv2_weights, monkeypatch):
    data = tmp_path / "voc"
    shutil.copytree(synth_voc, data)
    config = _builtin(data, weights=str(tiny_mnv2_weights), val_fraction=0.3)
    check_ready(config)
    monkeypatch.setattr(cache, "_decode", lambda *a, **k: pytest.fail("the subset was decoded again"))
    raw = cache.load_raw_split(VocDataset(data, 5), "val", 64, 0.3)  # what the evaluator asks for
    assert len(raw.ids) == 3


def test_a_corrupt_image_of_the_subset_is_found(synth_voc, tmp_path, tiny_mnv2_weights):
    data = tmp_path / "voc"
    shutil.copytree(synth_voc, data)
    dataset = VocDataset(data, 5)
    dataset.image_path(dataset.ids("val")[0]).write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot be decoded"):
        check_ready(_builtin(data, weights=str(tiny_mnv2_weights)))


def test_another_evaluator_needs_neither_data_nor_weights():
    check_ready(SearchConfig(evaluator=FAKE).resolved())


def test_the_target_is_checked_here_unless_a_cluster_measures(monkeypatch):
    for var in ("GAP_SDK_HOME", "GAP_RISCV_GCC_TOOLCHAIN"):
        monkeypatch.delenv(var, raising=False)
    gvsoc = SearchConfig(evaluator=FAKE, target="gvsoc", objectives=("latency",)).resolved()
    with pytest.raises(SdkMissingError, match="GAP_SDK_HOME"):
        check_ready(gvsoc)
    check_ready(gvsoc.merge({"scheduler": "tcp://127.0.0.1:1"}))  # the cluster's workers have the SDK
