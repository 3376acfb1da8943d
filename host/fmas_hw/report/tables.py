"""Tables of a report: rows from the store as plain dicts, and their Markdown / CSV / HTML forms.

Rows keep raw values (FLOPs and cycles as integers, errors as fractions) so that the CSV holds
exactly what the store holds; only the Markdown and HTML forms round and add units. The
candidate table is shaped like the paper's (one row per reported candidate, the supernet first):
genes, device time to discovery, FLOPs (at the search's input size), parameters, GAP8 cycles (at
the adapted 384 px) with their unit, source and, for a network that does not fit GAP8 memory, that
flag; error on the search subset without fine-tuning, the full-validation-set error without
fine-tuning (``report --full-set``'s score, else the one ``fmas-hw finetune`` recorded) and the gap
between the two in points, and the full-set error after fine-tuning.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..gap8.candidate_file import GAP8_INPUT_SIZE
from ..space import Arch, get_space
from ..space.mobilenetv2 import DILATION_BIT_GENES, DILATION_INDEX_GENES, GROUPS, STRIDE_GENES
from ..targets.figures import cycles_text
from .source import SearchData

HOUR, DAY = 3600.0, 86400.0


@dataclass(frozen=True)
class Column:
    """One column of a rendered table.

    Attributes:
        key: the row dict key.
        header: the column title (with units).
        fmt: value -> display text (Markdown / HTML only; the CSV keeps raw values).
        numeric: right-align the column.
    """

    key: str
    header: str
    fmt: Callable[[Any], str] = str
    numeric: bool = False


# -- formatting of single values --------------------------------------------------------------
def blank(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """Wrap ``fmt`` so that a missing value (None) shows as an en dash."""
    return lambda v: "–" if v is None or v == "" else fmt(v)


pct = blank(lambda v: f"{100 * v:.2f}")
giga = blank(lambda v: f"{v / 1e9:.2f}")
mega = blank(lambda v: f"{v / 1e6:.2f}")
hours = blank(lambda v: f"{v / HOUR:.3g}")
days = blank(lambda v: f"{v / DAY:.3g}")
points = blank(lambda v: f"{v:+.2f}")
plain = blank(str)


# -- the candidate table ----------------------------------------------------------------------
def candidate_rows(data: SearchData) -> list[dict[str, Any]]:
    """One row per reported candidate: the supernet, the final front, the fine-tuned ones.

    The supernet comes first; the front follows by ascending subset error (named P1, P2, ...);
    fine-tuned candidates not on the final front come last (F1, F2, ...).
    """
    front = [k for k in data.final_front if k != data.supernet_key]
    shown = {data.supernet_key, *front}
    extra = [k for k in data.finetune if k not in shown]
    rows = [_candidate(data, data.supernet_key, "supernet", "supernet")]
    for prefix, role, keys in (("P", "front", front), ("F", "fine-tuned", extra)):
        built = sorted((_candidate(data, k, "", role) for k in keys), key=_error_order)
        for i, row in enumerate(built, 1):
            row["name"] = f"{prefix}{i}"
        rows.extend(built)
    return rows


def _error_order(row: dict[str, Any]) -> tuple[float, str]:
    error = row["error_subset"]
    return (error if error is not None else float("inf"), row["genome"])


def _candidate(data: SearchData, key: str, name: str, role: str) -> dict[str, Any]:
    record = data.evaluations.get(key)
    tuned = data.finetune.get(key)
    genome = record.genome if record else (tuned.genome if tuned else get_space(data.backbone).supernet_genome)
    gen = data.first_generation(key)
    seconds = data.cumulative_seconds(gen)
    subset = record.error if record and record.error is not None else (tuned.error_subset_before if tuned else None)
    full, full_source = full_set_error(data, key)
    return {
        "name": name, "role": role, "on_front": key in data.final_front, "fine_tuned": bool(tuned and tuned.done),
        "genome": genome, "arch_key": key, "status": record.status if record else None,
        **gene_values(data.backbone, data.arch(key, genome)),
        "generation_found": gen, "discovery_seconds": seconds,
        "discovery_device_hours": None if seconds is None else seconds / HOUR,
        "discovery_device_days": None if seconds is None else seconds / DAY,
        "flops": record.flops if record else None, "params": record.params if record else None,
        "cycles": record.cycles if record else None, "cycles_source": record.cycles_source if record else None,
        "fits_gap8": record.fits_gap8 if record else None,
        "error_subset": subset,
        "error_full_before": tuned.error_full_before if tuned else None,
        "error_full_after": tuned.error_full_after if tuned and tuned.done else None,
        "error_full_no_ft": full, "error_full_no_ft_source": full_source,
        "gap_points": None if subset is None or full is None else 100 * (subset - full),
    }


def full_set_error(data: SearchData, key: str) -> tuple[float | None, str | None]:
    """The full-validation-set error of ``key`` without fine-tuning, and where it comes from:
    the ``full_set`` table ('full_set'), else the fine-tuning's before-error ('finetune')."""
    scored, tuned = data.full_set.get(key), data.finetune.get(key)
    if scored is not None:
        return scored.error, "full_set"
    if tuned is not None and tuned.error_full_before is not None:
        return tuned.error_full_before, "finetune"
    return None, None


def gene_values(backbone: str, arch: Arch) -> dict[str, Any]:
    """The paper's gene columns of ``arch`` as short strings (lists joined by commas)."""
    genes = get_space(backbone).genes(arch)
    if backbone == "xception":
        return {"entry_stride": genes["entry_stride"], "middle_rate": genes["middle_rate"],
                "exit_rates": _join(genes["exit_rates"]), "aspp_rates": _join(genes["aspp_rates"]),
                "blocks_dropped": _join(genes["middle_blocks_dropped"])}
    return {
        "strides": _join(genes["strides"].get(f"b{block}", "-") for block, _ in STRIDE_GENES),
        # A dilation gene of a block left out has no effect: shown as "-".
        "dilations": _join(genes["dilations"].get(f"b{b}", "-") for b in DILATION_BIT_GENES + DILATION_INDEX_GENES),
        "layers": "/".join(str(len(genes["groups"][f"{ch}ch"])) for ch in GROUPS),
    }


def _join(values: Iterable[Any]) -> str:
    return ",".join(str(v) for v in values)


def gene_columns(backbone: str) -> list[Column]:
    """The gene columns of the candidate table for ``backbone``."""
    if backbone == "xception":
        return [Column("entry_stride", "entry stride", plain, True), Column("middle_rate", "middle rate", plain, True),
                Column("exit_rates", "exit rates"), Column("aspp_rates", "ASPP rates"),
                Column("blocks_dropped", "blocks dropped", lambda v: v or "none")]
    stride_blocks = ",".join(f"b{b}" for b, _ in STRIDE_GENES)
    dilation_blocks = f"b{DILATION_BIT_GENES[0]}–b{DILATION_INDEX_GENES[-1]}"
    return [Column("strides", f"strides ({stride_blocks})"), Column("dilations", f"dilations ({dilation_blocks})"),
            Column("layers", f"layers ({'/'.join(str(ch) for ch in GROUPS)} ch)")]


def candidate_columns(backbone: str, input_size: int) -> list[Column]:
    """Columns of the rendered candidate table (Markdown / HTML); FLOPs name the input size they
    were counted at (the search's), since the cycles beside them are at GAP8's 384 px."""
    return [
        Column("name", "candidate"), *gene_columns(backbone),
        Column("generation_found", "found in gen", plain, True),
        Column("discovery_seconds", "to discovery (device-h)", hours, True),
        Column("discovery_seconds", "to discovery (GPU-days)", days, True),
        Column("flops", f"FLOPs at {input_size} px (G)", giga, True), Column("params", "params (M)", mega, True),
        Column("cycles", f"GAP8 cycles at {GAP8_INPUT_SIZE} px (source)", numeric=True),
        Column("error_subset", "error subset, no FT (%)", pct, True),
        Column("error_full_no_ft", "error full set, no FT (%)", pct, True),
        Column("gap_points", "gap subset − full (points)", points, True),
        Column("error_full_after", "error full, fine-tuned (%)", pct, True),
        Column("genome", "genome", lambda v: f"`{v}`"),
    ]


def display_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidate rows with the cycles cell pre-rendered as ``"<n> Mcycles (<source>)"``, flagged
    ``"; does not fit GAP8"`` for a network that cannot run there."""
    return [{**row, "cycles": cycles_text(row["cycles"], row["cycles_source"], row["fits_gap8"])} for row in rows]


# -- the generation table ---------------------------------------------------------------------
def generation_rows(data: SearchData) -> list[dict[str, Any]]:
    """Per generation: the search's front (over every candidate evaluated so far) and its
    hypervolume and change, NSGA-II's population front and its hypervolume (how the GA's working
    set progressed), counts and device seconds."""
    out: list[dict[str, Any]] = []
    previous: float | None = None
    for g, hv in zip(data.generations, data.archive_hypervolume, strict=True):
        change = None if not previous else 100 * (hv - previous) / previous
        out.append({"generation": g.gen, "front_size": data.archive_front_size(g.gen), "hypervolume": hv,
                    "hypervolume_change_percent": change, "population_front_size": len(g.front),
                    "population_hypervolume": g.hypervolume, "evaluated": g.n_evaluated, "store_hits": g.n_hits,
                    "failed": g.n_failed, "device_seconds": g.device_seconds,
                    "cumulative_seconds": g.cumulative_seconds, "wall_seconds": g.wall_seconds})
        previous = hv
    return out


GENERATION_COLUMNS = [
    Column("generation", "generation", plain, True), Column("front_size", "front size", plain, True),
    Column("hypervolume", "hypervolume", blank(lambda v: f"{v:.4f}"), True),
    Column("hypervolume_change_percent", "change (%)", blank(lambda v: f"{v:+.2f}"), True),
    Column("population_front_size", "population front size", plain, True),
    Column("population_hypervolume", "population hypervolume", blank(lambda v: f"{v:.4f}"), True),
    Column("evaluated", "evaluated", plain, True), Column("store_hits", "store hits", plain, True),
    Column("failed", "failed/rejected", plain, True),
    Column("device_seconds", "device time (s)", blank(lambda v: f"{v:.1f}"), True),
    Column("cumulative_seconds", "cumulative (device-h)", hours, True),
]


# -- rendering --------------------------------------------------------------------------------
def markdown_table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in cells escaped)."""
    lines = ["| " + " | ".join(c.header for c in columns) + " |",
             "|" + "|".join("---:" if c.numeric else "---" for c in columns) + "|"]
    for row in rows:
        cells = (c.fmt(row.get(c.key)).replace("|", "\\|") for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def csv_text(rows: list[dict[str, Any]], keys: list[str] | None = None) -> str:
    """CSV of raw row values (None -> empty cell; floats with full precision)."""
    keys = keys or (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in keys})
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same float
    return value


def html_table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    """A plain HTML ``<table>`` (cell text escaped; Markdown backticks dropped)."""
    head = "".join(f"<th>{html.escape(c.header)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = "".join(_html_cell(c, row) for c in columns)
        body.append(f"<tr>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _html_cell(column: Column, row: dict[str, Any]) -> str:
    text = html.escape(column.fmt(row.get(column.key)).replace("`", ""))
    return f'<td class="num">{text}</td>' if column.numeric else f"<td>{text}</td>"
