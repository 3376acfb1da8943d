"""fmas-hw: fast multi-objective supernet architecture search for GAP8 (FMAS, tinyML 2023).

Data flow, one sub-package per step:
genome (``space``) -> architecture -> sub-network with shared weights (``model``) -> evaluation
(``data``, ``eval``) -> GAP8 model and code (``gap8``) -> build and measurement (``targets``) ->
store (``store``) -> search (``search``) -> fine-tuning and reports (``training``, ``report``).
"""

__version__ = "0.1.0"
