"""The ``evaluations`` table: its columns, and how an :class:`EvaluationRecord` maps to a row.

Typed fields get columns of their own: the latency (``cycles*``, and the earlier estimate's
``estimate_*`` after a separate measurement) and the GAP8 fit (``fits_gap8``, ``gap8_memory``).
Only the architecture, the provenance dicts and a user evaluator's ``extra`` are JSON text.
"""

from __future__ import annotations

import json
from typing import Any

from .latency import Gap8Fit, Latency
from .records import EvaluationRecord

EVALUATIONS_TABLE = """
CREATE TABLE evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    arch_key TEXT NOT NULL,
    settings_digest TEXT NOT NULL,
    genome TEXT NOT NULL,
    arch TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed', 'rejected')),
    reason TEXT,
    error REAL, flops INTEGER, params INTEGER, cycles INTEGER, cycles_source TEXT,
    accuracy_seconds REAL NOT NULL DEFAULT 0, latency_seconds REAL NOT NULL DEFAULT 0,
    extra TEXT NOT NULL DEFAULT '{}',
    generation INTEGER, worker TEXT, created REAL NOT NULL,
    {latency_columns},
    UNIQUE (arch_key, settings_digest)
);
"""

#: The latency's columns besides ``cycles`` and ``cycles_source`` (schema version 2).
LATENCY_DETAIL_COLUMNS = (
    ("cycles_estimated", "INTEGER"), ("cycles_provenance", "TEXT"), ("cycles_model", "TEXT"),
    ("cycles_known_from", "INTEGER"), ("cycles_failure", "TEXT"),
    ("estimate_cycles", "INTEGER"), ("estimate_source", "TEXT"), ("estimate_provenance", "TEXT"),
    ("estimate_model", "TEXT"),
)
#: Columns added by schema version 2, in the order a migrated table has them.
ADDED_COLUMNS = (*LATENCY_DETAIL_COLUMNS, ("fits_gap8", "INTEGER"), ("gap8_memory", "TEXT"))

CREATE_EVALUATIONS = EVALUATIONS_TABLE.replace(
    "{latency_columns}", ",\n    ".join(f"{name} {kind}" for name, kind in ADDED_COLUMNS))

#: The columns :meth:`~fmas_hw.store.Store.set_latency` rewrites.
LATENCY_COLUMNS = ("cycles", "cycles_source", *(name for name, _ in LATENCY_DETAIL_COLUMNS), "latency_seconds")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _latency_values(latency: Latency | None) -> dict[str, Any]:
    """The latency columns of ``latency`` (all NULL for none)."""
    estimate = None if latency is None else latency.estimate
    return {
        "cycles": None if latency is None else latency.cycles,
        "cycles_source": None if latency is None else latency.source,
        "cycles_estimated": None if latency is None else int(latency.estimated),
        "cycles_provenance": None if latency is None else _json(latency.provenance),
        "cycles_model": None if latency is None else latency.model,
        "cycles_known_from": None if latency is None else latency.known_from,
        "cycles_failure": None if latency is None else latency.failure,
        "estimate_cycles": None if estimate is None else estimate.cycles,
        "estimate_source": None if estimate is None else estimate.source,
        "estimate_provenance": None if estimate is None else _json(estimate.provenance),
        "estimate_model": None if estimate is None else estimate.model,
    }


def to_row(record: EvaluationRecord) -> dict[str, Any]:
    """The column values of ``record`` (``created`` as given)."""
    fit = record.fit
    return {
        "arch_key": record.arch_key, "settings_digest": record.settings_digest, "genome": record.genome,
        "arch": _json(record.arch), "status": record.status.value, "reason": record.reason,
        "error": record.error, "flops": record.flops, "params": record.params,
        **_latency_values(record.latency),
        "fits_gap8": None if fit is None or fit.fits is None else int(fit.fits),
        "gap8_memory": None if fit is None else fit.memory,
        "accuracy_seconds": record.accuracy_seconds, "latency_seconds": record.latency_seconds,
        "extra": _json(record.extra), "generation": record.generation, "worker": record.worker,
        "created": record.created,
    }


def latency_row(record: EvaluationRecord) -> dict[str, Any]:
    """The values of :data:`LATENCY_COLUMNS` for ``record``."""
    return {**_latency_values(record.latency), "latency_seconds": record.latency_seconds}


def from_row(row: dict[str, Any]) -> EvaluationRecord:
    """The record of a row (``row`` as ``SELECT *`` names it)."""
    latency = None
    if row["cycles"] is not None:
        estimate = None
        if row["estimate_cycles"] is not None:
            estimate = Latency(row["estimate_cycles"], row["estimate_source"], True,
                               json.loads(row["estimate_provenance"] or "{}"), row["estimate_model"])
        latency = Latency(row["cycles"], row["cycles_source"], bool(row["cycles_estimated"]),
                          json.loads(row["cycles_provenance"] or "{}"), row["cycles_model"],
                          row["cycles_known_from"], row["cycles_failure"], estimate)
    fit = None
    if row["gap8_memory"] is not None:
        fit = Gap8Fit(None if row["fits_gap8"] is None else bool(row["fits_gap8"]), row["gap8_memory"])
    return EvaluationRecord(
        arch_key=row["arch_key"], settings_digest=row["settings_digest"], genome=row["genome"],
        arch=json.loads(row["arch"]), status=row["status"], reason=row["reason"], error=row["error"],
        flops=row["flops"], params=row["params"], latency=latency, fit=fit,
        accuracy_seconds=row["accuracy_seconds"], latency_seconds=row["latency_seconds"],
        extra=json.loads(row["extra"]), generation=row["generation"], worker=row["worker"],
        created=row["created"])
