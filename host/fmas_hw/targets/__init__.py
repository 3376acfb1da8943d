"""Measurement targets: where a candidate's GAP8 cycles come from (SPEC §6.3).

``estimate`` (the analytical cycle model), ``gvsoc`` (the GAP SDK's simulator), ``board`` (a
GAP8 board over UART) and ``simulated`` (a stand-in GAP8 for tests and benchmarks only, whose
figures are labelled estimates), registered here in :mod:`.registry`, the one list every choice
of target reads.
"""

from .board import BoardTarget
from .estimate import EstimateTarget
from .gvsoc import GvsocTarget
from .registry import register_target
from .simulated import SimulatedTarget

for _target in (EstimateTarget, GvsocTarget, BoardTarget, SimulatedTarget):
    register_target(_target)
