"""The command line's measurement targets: name -> :class:`~.base.Target` class.

What offers a choice of target by name (``--target``, a search config, a stored search, the
report's labels) reads it here. The mapping is fixed: code that measures on another target
(a test double, a benchmark's slowed-down simulator) passes the instance itself to the Python
API (:func:`fmas_hw.search.run`), and nothing is registered at run time.
"""

from __future__ import annotations

import inspect
from types import MappingProxyType
from typing import Any

from ..errors import ConfigError
from .base import Target
from .board import BoardTarget
from .estimate import EstimateTarget
from .gvsoc import GvsocTarget
from .options import TargetOptions
from .simulated import SimulatedTarget

TARGETS: MappingProxyType[str, type[Target]] = MappingProxyType(
    {cls.name: cls for cls in (EstimateTarget, GvsocTarget, BoardTarget, SimulatedTarget)})

#: The target a search, ``fmas-hw measure`` and ``fmas-hw regress`` use unless told otherwise.
DEFAULT_TARGET = EstimateTarget.name


def target_names() -> tuple[str, ...]:
    """The command line's target names (estimate, gvsoc, board, simulated)."""
    return tuple(TARGETS)


def target_class(name: str) -> type[Target]:
    """The class of the target called ``name``.

    Raises:
        ConfigError: the name is unknown.
    """
    cls = TARGETS.get(name)
    if cls is None:
        raise ConfigError(f"target {name!r} unknown: choose one of {', '.join(target_names())} "
                          "(or pass a Target instance to the Python API)")
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
