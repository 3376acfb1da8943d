"""Watch a search in the Optuna ecosystem: a read-only Optuna mirror of its store (what
``fmas-hw optuna-export`` writes).

Python API::

    from fmas_hw.dashboard import export
    export("runs/search.sqlite")            # runs/search-optuna.db, one trial per evaluation

Modules: ``source`` (read the store; the one module that knows its records), ``params`` (genes
as categorical parameters), ``trials`` (a candidate's trial), ``note`` (the study's note),
``mirror`` (the study file and its sync) and ``export``.
"""

from .export import Exported, export
from .mirror import Mirror, Synced, default_path

__all__ = ["export", "Exported", "Mirror", "Synced", "default_path"]
