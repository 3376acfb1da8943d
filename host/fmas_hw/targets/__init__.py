"""Measurement targets: where a candidate's GAP8 cycles come from (SPEC §6.3).

``estimate`` (the analytical cycle model), ``gvsoc`` (the GAP SDK's simulator), ``board`` (a
GAP8 board over UART) and ``simulated`` (a stand-in GAP8 for tests and benchmarks only, whose
figures are labelled estimates); :mod:`.registry` maps the command line's names to them.
"""

from .base import ProjectTarget, Target
from .board import BoardTarget
from .estimate import EstimateTarget
from .gvsoc import GvsocTarget
from .measurement import LayerCycles, Measurement
from .runner import ProjectRunner
from .simulated import SimulatedTarget

__all__ = ["BoardTarget", "EstimateTarget", "GvsocTarget", "LayerCycles", "Measurement", "ProjectRunner",
           "ProjectTarget", "SimulatedTarget", "Target"]
