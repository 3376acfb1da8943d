"""Which supernet ``fmas-hw finetune`` starts from, and whether it is the one the search scored.

A fine-tuned candidate is reported beside its subset error from the search; both must come from
the same supernet, else "before" and "after" compare two networks. The weights' content hash is
checked against the one the search recorded (its evaluation settings' ``weights_hash``):
other weights are refused unless asked for explicitly (``--other-weights``), and then the store
records them (``meta.finetune_weights``), so the report and every printed line label them. The
rows of one store are never fine-tuned from two different supernets.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from ..search.config import file_hash
from ..store import Store

META_KEY = "finetune_weights"


def check_weights(store: Store, weights: str | None, other_weights: bool, done: int) -> dict[str, Any]:
    """The record of the weights a fine-tuning starts from; refuses weights other than the
    search's without ``other_weights``, and a change of weights once rows are done.

    Args:
        store: the search's store (writable: the record is saved when new).
        weights: the weights the fine-tuning loads (the given ones, else the search's).
        other_weights: fine-tuning weights other than the search's was asked for.
        done: rows already fine-tuned.

    Returns:
        ``{"path", "hash", "search": bool}``: ``search`` is False for other weights.

    Raises:
        ConfigError: other weights without ``other_weights``, or weights other than the ones the
            done rows were fine-tuned from.
    """
    meta = store.meta()
    searched = (meta.get("settings") or {}).get("weights_hash")
    now = None if weights is None else file_hash(weights)
    record = {"path": weights, "hash": now, "search": searched is None or now == searched}
    if not record["search"] and not other_weights:
        raise ConfigError(
            f"the weights {weights} (content hash {now}) are not the ones the search of {store.path} scored "
            f"its candidates with (hash {searched}): 'before' and 'after' errors would come from two "
            "different supernets. Drop --weights (or restore the search's file), or pass --other-weights to "
            "fine-tune these weights anyway (the results are labelled so)")
    earlier = meta.get(META_KEY) or {"hash": searched}
    if done and earlier.get("hash") != now:
        raise ConfigError(
            f"{done} candidate(s) of {store.path} were fine-tuned from other weights (hash {earlier.get('hash')}), "
            f"not {weights} (hash {now}): one store's fine-tuning must start from one supernet; fine-tune a copy "
            "of the store instead")
    store.set_meta(**{META_KEY: record})
    return record


def label(record: dict[str, Any]) -> str:
    """``""`` for the search's weights, else a note naming the other weights."""
    return "" if record.get("search", True) else f" [other weights: {record.get('path')}, not the search's]"
