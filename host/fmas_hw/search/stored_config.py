"""The search config saved in a store, and how a config saved by an earlier fmas-hw is read.

``--resume`` starts from the stored config (less the keys that fit the host it ran on); a store
written before a key existed or changed meaning is upgraded here, in one place, so the rest of
the search only ever sees today's keys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..store import Store
from .config import SearchConfig

#: Saved with a search but not resumed from it: they fit the host and the moment it ran on, and
#: the store's path is where it is now (a moved or copied store resumes where it lies; what must
#: not change is its content, which the config and the evaluation settings check).
_HOST_KEYS = ("workers", "scheduler", "overlap", "threads_per_worker", "store")


def stored_config(path: str | Path) -> SearchConfig:
    """The search config saved in a store (the starting point of ``--resume``), less the keys
    that fit the host it ran on (:data:`_HOST_KEYS`: a resumed search takes those afresh).

    Raises:
        StoreError: the store cannot be read.
    """
    with Store.open(path, writable=False) as store:
        data = store.meta().get("config")
    if not data:
        raise StoreError(f"store {path} holds no search config")
    return SearchConfig.from_dict(upgraded({k: v for k, v in data.items()
                                             if k not in _HOST_KEYS}))


#: The built-in evaluator's name in stores written before it became the default (None).
_OLD_DEFAULT_EVALUATOR = "fmas_hw.eval.candidate:build_evaluator"


def upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """A config saved by an earlier fmas-hw in today's keys: its built-in evaluator becomes the
    default, and its ``cycle_model`` is dropped (the target identity replaced it; resuming then
    names the missing ``target_identity`` as the difference instead of failing on the key)."""
    out = {k: v for k, v in data.items() if k != "cycle_model"}
    if out.get("evaluator") == _OLD_DEFAULT_EVALUATOR:
        out["evaluator"] = None
    # Before random_init was a key, the built-in evaluator without weights ran on random weights.
    out.setdefault("random_init", out.get("weights") is None and out.get("evaluator") is None)
    if "backbone" in out and (out.get("classes") is None or out.get("alpha") is None):
        # Saved before the config resolved them: None meant the weights' manifest, as it still does.
        from ..model.manifest import build_options

        out["classes"], out["alpha"] = build_options(out.get("weights"), out["backbone"], out.get("classes"),
                                                     out.get("alpha"))
    return out


