"""``export``: the Optuna mirror of a store written once, without a server (what
``fmas-hw optuna-export`` runs); the same file ``serve`` keeps up to date.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from . import source
from .mirror import Mirror, Synced, default_path
from .trials import trial_state


@dataclass
class Exported:
    """What :func:`export` wrote.

    Attributes:
        path: the study file.
        study_name: the study's name in it.
        synced: what the sync did (trials in all, added, rebuilt).
        states: trials per state ('complete', 'failed', 'pruned'), and 'infeasible': the complete
            ones over a budget.
        front: candidates on the search's Pareto front (Optuna's ``best_trials``).
    """

    path: Path
    study_name: str
    synced: Synced
    states: dict[str, int]
    front: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"study": str(self.path), "study_name": self.study_name, "storage": f"sqlite:///{self.path}",
                "trials": self.synced.trials, "added": self.synced.added, "rebuilt": self.synced.rebuilt,
                **self.states, "front": self.front}


def export(store: str | Path, out: str | Path | None = None) -> Exported:
    """Write (or bring up to date) the Optuna study file of ``store`` once, without a server.

    Raises:
        StoreError: not a readable search store.
        DashboardError: ``out`` is not this store's mirror, or not writable.
    """
    search = source.read(store)
    mirror = Mirror(out or default_path(store), search)
    synced = mirror.sync(search)
    counts = Counter(trial_state(c) for c in search.candidates)
    states = {"complete": counts[TrialState.COMPLETE], "failed": counts[TrialState.FAIL],
              "pruned": counts[TrialState.PRUNED],
              "infeasible": sum(1 for c in search.candidates if trial_state(c) == TrialState.COMPLETE and c.over_budget)}
    return Exported(mirror.path, search.name, synced, states, len(search.front))
