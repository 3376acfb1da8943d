"""The one list of measurement targets: name -> :class:`~.base.Target` class.

Everything that offers a choice of target (the CLI's ``--target``, the search config, the report's
labels, a measurement's ``source``) reads it from here. The targets themselves are registered by
the package (``fmas_hw/targets/__init__.py``), so the list is complete as soon as anything from
:mod:`fmas_hw.targets` is imported, and this module needs none of them.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .base import Target

_TARGETS: dict[str, type[Target]] = {}
@dataclass(frozen=True)
class TargetOptions:
    """The command-line settings a target may take; each target reads those that concern it.

    Attributes:
        cycle_model: cycle-model TOML of the estimate (``fmas-hw calibrate`` output).
        port: serial port of the board (default: found by USB id).
        route: how the hardware targets' projects are generated and built (``open``: fmas-hw's
            own tiled C; ``autotiler``/``nntool``: with the AutoTiler library).
    """

    cycle_model: str | None = None
    port: str | None = None
    route: str = "open"


#: The target a search, ``fmas-hw measure`` and ``fmas-hw regress`` use unless told otherwise.
DEFAULT_TARGET = "estimate"


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
