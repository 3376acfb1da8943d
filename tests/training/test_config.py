"""The options of ``fmas-hw train`` and ``fmas-hw finetune``: validated when a config is built."""

from __future__ import annotations

import dataclasses

import pytest

from fmas_hw.errors import ConfigError
from fmas_hw.training.config import FinetuneConfig, TrainConfig


def test_defaults_are_the_paper_settings_and_configs_are_frozen(tmp_path):
    cfg = FinetuneConfig(store="s.sqlite")
    assert (cfg.top, cfg.epochs, cfg.batch, cfg.patience) == (8, 10, 8, 2)
    assert (cfg.learning_rate, cfg.lr_decay, cfg.weight_decay) == (1e-6, 0.94, 4e-5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 4
    train = TrainConfig(backbone="xception", data=str(tmp_path), out=str(tmp_path / "w.h5"))
    assert (train.optimizer, train.learning_rate, train.weight_decay) == ("sgd", None, 4e-5)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("learning_rate", 1.0, None), ("lr_decay", 1.0, None), ("weight_decay", 0.0, None), ("lr_decay", 1, None),
    ("learning_rate", 0.0, r"learning_rate must be a number > 0, got 0\.0"),
    ("learning_rate", -1e-6, "learning_rate must be a number > 0"),
    ("learning_rate", float("nan"), "learning_rate must be a number > 0, got nan"),
    ("learning_rate", "1e-6", "learning_rate must be a number > 0"),
    ("weight_decay", -4e-5, "weight_decay must be a number >= 0"),
    ("weight_decay", float("inf"), "weight_decay must be a number >= 0"),
    ("lr_decay", 0.0, r"lr_decay must be a factor in \(0, 1\], got 0\.0"),
    ("lr_decay", 1.01, r"lr_decay must be a factor in \(0, 1\]"),
    ("epochs", 0, "epochs must be an integer >= 1, got 0"),
    ("batch", 0, "batch must be an integer >= 1"),
    ("top", 0, "top must be an integer >= 1"),
    ("top", 2.5, "top must be an integer >= 1, got 2.5"),
    ("patience", 0, "patience must be an integer >= 1"),
    ("seed", -1, "seed must be an integer >= 0"),
    ("data", "/nonexistent/voc", "data path /nonexistent/voc does not exist"),
], ids=lambda v: str(v))
def test_finetune_config_ranges(key, value, message):
    if message is None:
        assert getattr(FinetuneConfig(store="s.sqlite", **{key: value}), key) == value
        return
    with pytest.raises(ConfigError, match=message):
        FinetuneConfig(store="s.sqlite", **{key: value})


@pytest.mark.parametrize(("key", "value", "message"), [
    ("backbone", "resnet", r"backbone 'resnet' unknown: expected one of \['mobilenetv2', 'xception'\]"),
    ("optimizer", "rmsprop", r"optimizer 'rmsprop' unknown: expected one of \['sgd', 'adam'\]"),
    ("input_size", 16, "input_size must be an integer >= 32, got 16"),
    ("epochs", 0, "epochs must be an integer >= 1"),
    ("batch", True, "batch must be an integer >= 1, got True"),
    ("classes", 1, "classes must be an integer >= 2"),
    ("alpha", 0, "alpha must be a number > 0"),
    ("learning_rate", 0.0, r"learning_rate must be a number > 0 \(or left out\)"),
    ("weight_decay", -1.0, "weight_decay must be a number >= 0"),
    ("seed", -3, "seed must be an integer >= 0"),
    ("init_weights", "/nonexistent/w.h5", "init_weights path /nonexistent/w.h5 does not exist"),
], ids=lambda v: str(v))
def test_train_config_ranges(tmp_path, key, value, message):
    values = dict(backbone="mobilenetv2", data=str(tmp_path), out=str(tmp_path / "w.h5"))
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{**values, key: value})


def test_train_config_needs_existing_data(tmp_path):
    with pytest.raises(ConfigError, match="data path .* does not exist"):
        TrainConfig(backbone="mobilenetv2", data=str(tmp_path / "nope"), out=str(tmp_path / "w.h5"))
