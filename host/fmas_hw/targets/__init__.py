"""Measurement targets: where a candidate's GAP8 cycles come from (SPEC §6.3).

``estimate`` (the analytical cycle model), ``gvsoc`` (the GAP SDK's simulator) and ``board`` (a
GAP8 board over UART), registered here in :mod:`.registry`, the one list every choice of target
reads.
"""

from .board import BoardTarget
from .estimate import EstimateTarget
from .gvsoc import GvsocTarget
from .registry import register_target

for _target in (EstimateTarget, GvsocTarget, BoardTarget):
    register_target(_target)
