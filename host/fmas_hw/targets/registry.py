"""The one list of measurement targets: name -> :class:`~.base.Target` class.

Everything that offers a choice of target (the CLI's ``--target``, the search config, the report's
labels, a measurement's ``source``) reads it from here.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import ConfigError
from .base import Target, TargetOptions
from .board import BoardTarget
from .estimate import EstimateTarget
from .gvsoc import GvsocTarget

_TARGETS: dict[str, type[Target]] = {cls.name: cls for cls in (EstimateTarget, GvsocTarget, BoardTarget)}
#: The target a search, ``fmas-hw measure`` and ``fmas-hw regress`` use unless told otherwise.
DEFAULT_TARGET = EstimateTarget.name


def register_target(cls: type[Target]) -> None:
    """Add (or replace) a target class under its ``name`` (e.g. a test double)."""
    _TARGETS[cls.name] = cls


def target_names() -> tuple[str, ...]:
    """The registered names, in registration order (estimate, gvsoc, board, ...)."""
    return tuple(_TARGETS)


def target_class(name: str) -> type[Target]:
    """The class registered as ``name``.

    Raises:
        ConfigError: the name is unknown.
    """
    cls = _TARGETS.get(name)
    if cls is None:
        raise ConfigError(f"unknown measurement target {name!r}: choose one of {', '.join(target_names())}")
    return cls


def get_target(name: str, **options: Any) -> Target:
    """Build the target called ``name`` with keyword arguments of its constructor.

    Raises:
        ConfigError: the name is unknown, or the options do not fit the target's constructor.
    """
    cls = target_class(name)
    try:
        # Checked before the call so that a TypeError raised inside a constructor is not masked.
        inspect.signature(cls).bind(**options)
    except TypeError as exc:
        raise ConfigError(f"invalid options for target {name!r}: {exc}") from exc
    return cls(**options)


def open_target(name: str, options: TargetOptions | None = None) -> Target:
    """Build the target called ``name`` from the command-line settings that concern it.

    Raises:
        ConfigError: the name is unknown or a setting is invalid.
    """
    return target_class(name).from_options(options or TargetOptions())
