"""The command-line settings a target may take (``--cycle-model``, ``--port``, ``--route``)."""

from __future__ import annotations

from dataclasses import dataclass


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
