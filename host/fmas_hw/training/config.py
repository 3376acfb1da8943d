"""The options of ``fmas-hw train`` and ``fmas-hw finetune``: frozen dataclasses, validated here.

Like :class:`fmas_hw.search.SearchConfig`, every value is checked when a config is built, with a
message that names the key and the accepted range, so a bad value stops the command before a
supernet is built or a data set decoded (the CLI checks its options too, in click's words).
This module does not import TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model.device import check_choice
from ..space import SPACES

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class TrainConfig:
    """Options of one supernet training run (the CLI's options).

    ``learning_rate`` None means the optimizer's default (0.01 for SGD, 1e-3 for Adam).

    Raises:
        ConfigError: an unknown backbone or optimizer, a value out of range, a missing path.
    """

    backbone: str
    data: str
    out: str
    input_size: int = 128
    epochs: int = 30
    batch: int = 8
    alpha: float = 1.0
    classes: int = 21
    optimizer: str = "sgd"
    learning_rate: float | None = None
    weight_decay: float = 4e-5
    seed: int = 0
    init_weights: str | None = None
    #: Where TensorFlow trains: "auto", "cpu" or "gpu" (:mod:`fmas_hw.model.device`).
    device: str = "auto"

    def __post_init__(self) -> None:
        _check(self.backbone in SPACES, f"backbone {self.backbone!r} unknown: expected one of {sorted(SPACES)}")
        _check(self.optimizer in OPTIMIZERS,
               f"optimizer {self.optimizer!r} unknown: expected one of {list(OPTIMIZERS)}")
        _check_int(self, "input_size", 32)
        _check_ints(self, ("epochs", "batch"), 1)
        _check_int(self, "classes", 2)
        _check_int(self, "seed", 0)
        _check(_is_number(self.alpha) and self.alpha > 0, f"alpha must be a number > 0, got {self.alpha!r}")
        _check(self.learning_rate is None or (_is_number(self.learning_rate) and self.learning_rate > 0),
               f"learning_rate must be a number > 0 (or left out), got {self.learning_rate!r}")
        _check_weight_decay(self.weight_decay)
        check_choice(self.device)
        _check_paths(self, ("data", "init_weights"))


@dataclass(frozen=True)
class FinetuneConfig:
    """Options of ``fmas-hw finetune`` (defaults: the paper's settings, SPEC §7).

    ``data`` and ``weights`` None mean the search's (as saved in the store). Weights whose
    content differs from the search's are refused unless ``other_weights`` (see
    :mod:`fmas_hw.training.finetune_weights`).

    Raises:
        ConfigError: a value out of range or a missing path.
    """

    store: str
    top: int = 8
    epochs: int = 10
    batch: int = 8
    learning_rate: float = 1e-6
    lr_decay: float = 0.94
    weight_decay: float = 4e-5
    patience: int = 2
    data: str | None = None
    weights: str | None = None
    out_dir: str | None = None
    seed: int = 0
    other_weights: bool = False
    #: Where TensorFlow fine-tunes: "auto", "cpu" or "gpu" (:mod:`fmas_hw.model.device`).
    device: str = "auto"

    def __post_init__(self) -> None:
        _check_ints(self, ("top", "epochs", "batch", "patience"), 1)
        _check_int(self, "seed", 0)
        _check(_is_number(self.learning_rate) and self.learning_rate > 0,
               f"learning_rate must be a number > 0, got {self.learning_rate!r}")
        _check(_is_number(self.lr_decay) and 0 < self.lr_decay <= 1,
               f"lr_decay must be a factor in (0, 1], got {self.lr_decay!r}")
        _check_weight_decay(self.weight_decay)
        _check_paths(self, ("data", "weights"))
        check_choice(self.device)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _is_number(value: Any) -> bool:
    """A finite int or float (not a bool): what a learning rate or a factor can be."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(config: Any, key: str, minimum: int) -> None:
    value = getattr(config, key)
    _check(_is_int(value) and value >= minimum, f"{key} must be an integer >= {minimum}, got {value!r}")


def _check_ints(config: Any, keys: tuple[str, ...], minimum: int) -> None:
    for key in keys:
        _check_int(config, key, minimum)


def _check_weight_decay(value: Any) -> None:
    _check(_is_number(value) and value >= 0, f"weight_decay must be a number >= 0, got {value!r}")


def _check_paths(config: Any, keys: tuple[str, ...]) -> None:
    """Inputs that are given must exist (outputs are created by the run)."""
    for key in keys:
        value = getattr(config, key)
        _check(value is None or Path(value).expanduser().exists(), f"{key} path {value} does not exist")
