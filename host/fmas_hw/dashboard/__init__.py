"""Watch a search in the Optuna ecosystem: a read-only Optuna mirror of its store, served by
optuna-dashboard with the search's report beside it (what ``fmas-hw dashboard`` and
``fmas-hw optuna-export`` run).

Python API::

    from fmas_hw.dashboard import export, serve
    export("runs/search.sqlite")            # runs/search-optuna.db, one trial per evaluation
    serve("runs/search.sqlite", port=8080)  # http://127.0.0.1:8080/ until Ctrl-C

Modules: ``source`` (read the store; the one module that knows its records), ``params`` (genes
as categorical parameters), ``trials`` (a candidate's trial), ``note`` (the study's note),
``mirror`` (the study file and its sync), ``export``, ``pages`` (the report's pages), ``server``
(HTTP), ``watch`` (the background sync) and ``serve``.
"""

from .export import Exported, export
from .mirror import Mirror, Synced, default_path
from .serve import serve

__all__ = ["serve", "export", "Exported", "Mirror", "Synced", "default_path"]
