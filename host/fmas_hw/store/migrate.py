"""Upgrades of a search store of a lower schema version to the schema this code writes.

Schema 1 holds an evaluation's latency details and GAP8 fit as keys of its ``extra`` JSON
(``measurement``, ``estimate``, ``estimate_model``, ``measured_generation``,
``measurement_failed``, ``fits_gap8``, ``gap8_memory``); schema 2 gives them columns
(:mod:`.evaluation_rows`). The upgrade moves every key to its column in one transaction, so a
store is either wholly version 1 or wholly version 2.
"""

from __future__ import annotations

import json
import sqlite3

from .evaluation_rows import ADDED_COLUMNS

#: The ``extra`` keys schema 2 moves to columns.
MOVED_KEYS = ("measurement", "estimate", "estimate_model", "measured_generation", "measurement_failed",
              "fits_gap8", "gap8_memory")

# Every right-hand side reads the row's unchanged values (SQL UPDATE semantics), ``extra``
# included. In a schema-1 row that holds a separate measurement, the top-level
# ``estimate_model`` names the model of the kept estimate, not of the measured cycles.
_MOVE = """
UPDATE evaluations SET
    cycles_estimated = CASE
        WHEN cycles IS NULL THEN NULL
        WHEN json_extract(extra, '$.measurement.label') IS NOT NULL
            THEN json_extract(extra, '$.measurement.label') LIKE 'estimated%'
        ELSE cycles_source IN ('estimate', 'simulated') END,
    cycles_provenance = CASE WHEN cycles IS NULL THEN NULL
        ELSE coalesce(json_extract(extra, '$.measurement'), '{}') END,
    cycles_model = CASE WHEN json_extract(extra, '$.estimate') IS NULL
        THEN json_extract(extra, '$.estimate_model') END,
    cycles_known_from = json_extract(extra, '$.measured_generation'),
    cycles_failure = json_extract(extra, '$.measurement_failed'),
    estimate_cycles = json_extract(extra, '$.estimate.cycles'),
    estimate_source = json_extract(extra, '$.estimate.source'),
    estimate_provenance = CASE WHEN json_extract(extra, '$.estimate') IS NOT NULL
        THEN coalesce(json_extract(extra, '$.estimate.measurement'), '{}') END,
    estimate_model = CASE WHEN json_extract(extra, '$.estimate') IS NOT NULL
        THEN json_extract(extra, '$.estimate_model') END,
    fits_gap8 = json_extract(extra, '$.fits_gap8'),
    gap8_memory = json_extract(extra, '$.gap8_memory'),
    extra = json_remove(extra, {paths})
"""


def upgrade_1_to_2(conn: sqlite3.Connection) -> None:
    """Give the latency and GAP8-fit keys of ``extra`` their schema-2 columns and record version 2.

    Runs in the caller's transaction: the caller commits or rolls back.
    """
    for name, kind in ADDED_COLUMNS:
        conn.execute(f"ALTER TABLE evaluations ADD COLUMN {name} {kind}")
    conn.execute(_MOVE.replace("{paths}", ", ".join(f"'$.{key}'" for key in MOVED_KEYS)))
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (json.dumps(2),))


#: ``version -> upgrade to version + 1``.
UPGRADES = {1: upgrade_1_to_2}
