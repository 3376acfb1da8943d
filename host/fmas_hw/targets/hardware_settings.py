"""Settings of the gvsoc and board targets: frozen, validated, defaults from ``hw/gap8.toml``.

Each hardware target reads its defaults from one table of ``hw/gap8.toml`` (``[gvsoc]``,
``[board]``: timeouts, retries, the board's USB ids and UART...), so none of these numbers is a
literal in code; :meth:`HardwareSettings.from_hw` applies a caller's overrides on top. Two kinds of
value come from elsewhere: the make arguments are the generated project's Makefile interface (code,
like the templates that write it, see :attr:`HardwareSettings.BUILD_ARGS`), and the cluster clock is
``[chip] cluster_freq_hz``. What cannot live in a TOML file (a callable trigger, an environment) is
a keyword argument of the target instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from ..errors import ConfigError
from ..hw import load as load_hw
from .triggers import TRIGGER_NAMES


def default_cluster_freq_hz() -> int:
    """Cluster clock of GAP8 from ``hw/gap8.toml`` (used when the output does not state it)."""
    return int(load_hw()["chip"]["cluster_freq_hz"])


# ---- value checks: each takes the key (for the message) and the value, returns the clean value --


def _fail(key: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{key} must be {expected}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _arguments(key: str, value: Any) -> tuple[str, ...]:
    """A command or make argument list (a TOML array or any sequence of strings)."""
    if isinstance(value, str) or not isinstance(value, list | tuple) or not value or not all(
        isinstance(a, str) and a for a in value
    ):
        raise _fail(key, "a non-empty list of non-empty strings", value)
    return tuple(value)


def _seconds(key: str, value: Any) -> float:
    if not _is_number(value) or value <= 0:
        raise _fail(key, "a number of seconds > 0", value)
    return float(value)


def _pause(key: str, value: Any) -> float:
    if not _is_number(value) or value < 0:
        raise _fail(key, "a number of seconds >= 0", value)
    return float(value)


def _count(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(key, "an integer >= 0", value)
    return value


def _positive_int(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _fail(key, "an integer > 0", value)
    return value


def _usb_id(key: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFF:
        raise _fail(key, "a 16-bit USB id (0 to 0xffff)", value)
    return value


def _optional_path(key: str, value: Any) -> str | None:
    """None (the default applies), else a non-empty path or device name."""
    if value is None:
        return None
    if not isinstance(value, str | Path) or not str(value):
        raise _fail(key, "a non-empty path", value)
    return str(value)


def _trigger(key: str, value: Any) -> str | tuple[str, ...]:
    """A trigger name of :data:`~.triggers.TRIGGER_NAMES`, or a command (list of arguments)."""
    if isinstance(value, str):
        if value not in TRIGGER_NAMES:
            raise _fail(key, f"one of {', '.join(TRIGGER_NAMES)} or a command (list of arguments)",
                        value)
        return value
    return _arguments(key, value)


Check = Callable[[str, Any], Any]


@dataclass(frozen=True)
class HardwareSettings:
    """What configures both hardware targets (build, run limit, clock).

    Build one with :meth:`from_hw`; every field is checked on construction.

    Attributes:
        build_args: make arguments of the build (``prepare``).
        run_args: make arguments of a run.
        build_timeout_s: limit of the build (NNTool + AutoTiler + compile).
        default_timeout_s: limit of a run when ``run`` gets ``timeout_s=None``.
        cluster_freq_hz: clock for the latency when the output does not state it.

    Raises:
        ConfigError: on construction, a value of the wrong type or out of range; the message names
            the key as ``[<table>] <key>``.
    """

    #: The ``hw/gap8.toml`` table holding the defaults.
    TABLE: ClassVar[str]
    #: Default make arguments of the build and of a run.
    BUILD_ARGS: ClassVar[tuple[str, ...]]
    RUN_ARGS: ClassVar[tuple[str, ...]]
    #: Field -> check; subclasses extend it with their own fields.
    CHECKS: ClassVar[dict[str, Check]] = {
        "build_args": _arguments,
        "run_args": _arguments,
        "build_timeout_s": _seconds,
        "default_timeout_s": _seconds,
        "cluster_freq_hz": _positive_int,
    }

    build_args: tuple[str, ...]
    run_args: tuple[str, ...]
    build_timeout_s: float
    default_timeout_s: float
    cluster_freq_hz: int

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            check = self.CHECKS[field.name]
            # Frozen: the cleaned value (a TOML list made a tuple, an int made a float) is set
            # the way dataclasses itself sets fields.
            object.__setattr__(
                self, field.name, check(f"[{self.TABLE}] {field.name}", getattr(self, field.name))
            )

    @classmethod
    def from_hw(cls, **overrides: Any) -> Self:
        """The settings with the defaults of ``hw/gap8.toml`` ``[<TABLE>]``, then ``overrides``.

        Args:
            overrides: field -> value, e.g. ``retries=0``.

        Raises:
            ConfigError: an override names no setting; the table lacks a setting or has a key no
                setting knows (the packaged file was edited); or a value is invalid.
        """
        names = [field.name for field in dataclasses.fields(cls)]
        table = dict(load_hw().get(cls.TABLE, {}))
        where = f"hw/gap8.toml [{cls.TABLE}]"
        unknown = sorted(set(table) - set(names))
        if unknown:
            raise ConfigError(f"{where} has unknown key(s) {', '.join(unknown)}: restore the packaged file")
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise ConfigError(f"unknown {cls.TABLE} setting(s) {', '.join(unknown)}: choose among {', '.join(names)}")
        values = {"build_args": cls.BUILD_ARGS, "run_args": cls.RUN_ARGS,
                  "cluster_freq_hz": default_cluster_freq_hz(), **table, **overrides}
        missing = [field.name for field in dataclasses.fields(cls)
                   if field.name not in values and field.default is dataclasses.MISSING]
        if missing:
            raise ConfigError(f"{where} lacks {', '.join(missing)}: restore the packaged file")
        return cls(**values)


@dataclass(frozen=True)
class GvsocSettings(HardwareSettings):
    """Settings of the gvsoc target (defaults: ``hw/gap8.toml`` ``[gvsoc]``).

    ``build_args=("build", "platform=gvsoc")`` only compiles (SDK 3.x: ``all`` also builds and
    uploads the flash image).
    """

    TABLE: ClassVar[str] = "gvsoc"
    BUILD_ARGS: ClassVar[tuple[str, ...]] = ("clean", "all", "platform=gvsoc")
    RUN_ARGS: ClassVar[tuple[str, ...]] = ("run", "platform=gvsoc")


@dataclass(frozen=True)
class BoardSettings(HardwareSettings):
    """Settings of the board target (defaults: ``hw/gap8.toml`` ``[board]``).

    Attributes:
        usb_vid, usb_pid: USB ids that find the board's port when ``port`` is None.
        uart_interface: USB interface carrying the UART on a multi-interface chip (GAPuino: 1).
        uart_baud: UART speed (8N1).
        trigger: how each attempt starts the firmware: a name of
            :data:`~.triggers.TRIGGER_NAMES` or a command (the target's ``trigger`` argument
            overrides it with a callable or a :class:`~.triggers.Trigger`).
        retries: extra attempts after a transient failure (board reset before each).
        begin_timeout_s: wait for the ``FMAS:BEGIN`` handshake.
        idle_timeout_s: longest silence after the handshake (must exceed the inference time).
        lock_timeout_s: how long to wait for another measurement to release the board.
        reopen_timeout_s: how long to wait for the port to come back after a reset.
        retry_delay_s: pause between attempts.
        port: serial port; None finds it by ``usb_vid``/``usb_pid``.
        lock_dir: folder of the port lock files; None: the system temp folder.

    The other attributes are those of :class:`HardwareSettings`; ``run_args`` are those of the
    ``make-run`` trigger.
    """

    TABLE: ClassVar[str] = "board"
    BUILD_ARGS: ClassVar[tuple[str, ...]] = ("clean", "all", "platform=board", "io=uart")
    RUN_ARGS: ClassVar[tuple[str, ...]] = ("run", "platform=board", "io=uart")
    #: Added to the build and flash of a board that boots from flash (``fmas-hw flash``): no
    #: debugger serves semihosting there, so the project's Makefile packs the test input into the
    #: flash's readfs partition with the constants and the firmware reads it from there.
    FLASHED_ARGS: ClassVar[tuple[str, ...]] = ("FMAS_INPUT=flash",)
    CHECKS: ClassVar[dict[str, Check]] = {
        **HardwareSettings.CHECKS,
        "usb_vid": _usb_id,
        "usb_pid": _usb_id,
        "uart_interface": _count,
        "uart_baud": _positive_int,
        "trigger": _trigger,
        "retries": _count,
        "begin_timeout_s": _seconds,
        "idle_timeout_s": _seconds,
        "lock_timeout_s": _pause,
        "reopen_timeout_s": _pause,
        "retry_delay_s": _pause,
        "port": _optional_path,
        "lock_dir": _optional_path,
    }

    usb_vid: int
    usb_pid: int
    uart_interface: int
    uart_baud: int
    trigger: str | tuple[str, ...]
    retries: int
    begin_timeout_s: float
    idle_timeout_s: float
    lock_timeout_s: float
    reopen_timeout_s: float
    retry_delay_s: float
    port: str | None = None
    lock_dir: str | None = None
