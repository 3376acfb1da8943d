"""Assemble and write a report folder: Markdown / CSV / HTML tables and the PNG / SVG plots.

Layout of the folder (default ``<store stem>-report/`` next to the store)::

    report.md  report.html                    the document (formats 'md', 'html')
    candidates.csv  generations.csv           raw tables (format 'csv')
    accounting.csv  fidelity.csv  front_fidelity.csv
    front-<objective>.png/.svg  hypervolume.png/.svg  fidelity.png/.svg  front-fidelity.png/.svg
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigError, ReportError
from ..gap8.candidate_file import GAP8_INPUT_SIZE
from . import accounting as acc_mod
from . import fidelity as fid_mod
from .document import Section, render_html, render_markdown
from .plots import write_plots
from .source import SearchData, load
from .study import read_summary, selection_section, study_section
from .tables import (
    GENERATION_COLUMNS,
    candidate_columns,
    candidate_rows,
    csv_text,
    display_rows,
    generation_rows,
)

FORMATS = ("md", "csv", "html")
DEFAULT_FORMATS = ("md", "csv")
T = TypeVar("T")


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote.

    Attributes:
        out_dir: the report folder.
        markdown / html: the documents (None when that format was not asked for).
        csv: ``{table name: path}`` ('candidates', 'generations', 'accounting', 'fidelity',
            'front_fidelity').
        plots: ``{plot name: {"png": path, "svg": path}}``.
        summary: the headline numbers (JSON-serialisable): front, hypervolume, accounting,
            fidelity (None without fine-tuning results), front_fidelity (None without full-set
            scores of the front).
    """

    out_dir: Path
    markdown: Path | None = None
    html: Path | None = None
    csv: dict[str, Path] = field(default_factory=dict)
    plots: dict[str, dict[str, Path]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)

    def paths(self) -> list[Path]:
        """Every file written."""
        docs = [p for p in (self.markdown, self.html) if p is not None]
        return docs + list(self.csv.values()) + [p for formats in self.plots.values() for p in formats.values()]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what ``fmas-hw report --json`` prints)."""
        return {
            "out_dir": str(self.out_dir),
            "files": {
                "markdown": None if self.markdown is None else str(self.markdown),
                "html": None if self.html is None else str(self.html),
                "csv": {k: str(v) for k, v in self.csv.items()},
                "plots": {k: {f: str(p) for f, p in v.items()} for k, v in self.plots.items()},
            },
            "summary": self.summary,
        }


def parse_formats(formats: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    """``"md,csv"`` (or a sequence) -> ``("md", "csv")``; None -> :data:`DEFAULT_FORMATS`.

    Raises:
        ConfigError: an unknown or empty format list.
    """
    if formats is None:
        return DEFAULT_FORMATS
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ConfigError(f"report format(s) {bad or formats!r} unknown: choose from {', '.join(FORMATS)} "
                          "(comma-separated, e.g. md,csv,html)")
    return out


def default_out_dir(store_path: str | Path) -> Path:
    """``<store folder>/<store stem>-report``."""
    path = Path(store_path)
    return path.parent / f"{path.stem}-report"


def write_report(store_path: str | Path, out_dir: str | Path | None = None,
                 formats: str | tuple[str, ...] | list[str] | None = None,
                 study: str | Path | None = None) -> ReportFiles:
    """Write the report of a search store: tables, plots and the summary.

    Args:
        store_path: the results store written by ``fmas-hw search`` (read only: the full-set
            scores come from :func:`fmas_hw.search.full_set.score_front_full_set`, run before).
        out_dir: the report folder (created; default :func:`default_out_dir`).
        formats: any of 'md', 'csv', 'html' (default 'md,csv'); plots are always written.
        study: a ``fmas-hw study proxy`` folder whose results join the report (its plots are
            referenced where they are, relative to the report folder).

    Returns:
        The :class:`ReportFiles`.

    Raises:
        StoreError: the store is missing, damaged, not an fmas-hw store, or has no generation.
        ConfigError: an unknown format.
        ReportError: the report folder cannot be written, or ``study`` holds no study.
    """
    chosen = parse_formats(formats)
    study_summary = read_summary(study) if study is not None else None
    data = load(store_path)
    out = Path(out_dir) if out_dir is not None else default_out_dir(store_path)
    _make_dir(out)
    candidates = candidate_rows(data)
    fid = fid_mod.proxy_fidelity(candidates)
    front = fid_mod.front_fidelity(candidates)
    acc = acc_mod.accounting(data)
    files = ReportFiles(out_dir=out, summary=_summary(data, candidates, fid, front, acc))
    files.plots = _guard(out, lambda: write_plots(data, fid, out, front))
    sections = build_sections(data, candidates, fid, acc, files.plots, front)
    if study_summary is not None:
        files.summary["proxy_study"] = {k: v for k, v in study_summary.items() if k not in ("curve", "candidates_table")}
        relative = os.path.relpath(str(Path(str(study)).resolve()), str(out.resolve()))
        sections[-1:-1] = [study_section(study_summary, relative), selection_section(study_summary)]
    title, intro = f"FMAS search report — {data.store_path.name}", _intro(data)
    if "md" in chosen:
        files.markdown = _write(out / "report.md", render_markdown(title, intro, sections))
    if "html" in chosen:
        files.html = _write(out / "report.html", render_html(title, intro, sections))
    if "csv" in chosen:
        files.csv = _write_csvs(out, data, candidates, fid, front, acc)
    return files


def build_sections(data: SearchData, candidates: list[dict[str, Any]], fid: fid_mod.Fidelity | None,
                   acc: acc_mod.Accounting, plots: dict[str, dict[str, Path]],
                   front: fid_mod.FrontFidelity | None = None) -> list[Section]:
    """The sections of the document, in order."""
    fronts = [(f"front-{o}.png", f"error vs {o} over generations") for o in data.objectives]
    return [
        Section("Candidates", text=[_candidates_text(data)], columns=candidate_columns(data.backbone, data.input_size),
                rows=display_rows(candidates), notes=_candidate_notes(data)),
        Section("Pareto front over generations", text=[_FRONT_TEXT], images=fronts),
        Section("Hypervolume per generation", columns=GENERATION_COLUMNS, rows=generation_rows(data),
                notes=[_HV_NOTE], images=[("hypervolume.png", "hypervolume per generation")]),
        _fidelity_section(data, fid),
        _front_fidelity_section(data, front),
        Section("Search cost", text=[_cost_text(acc)], columns=acc_mod.COLUMNS,
                rows=acc_mod.rows(acc, data.config.get("target", "")), notes=[_COST_NOTE]),
    ]


_FRONT_TEXT = ("Grey: every candidate evaluated. Coloured: the Pareto front of each generation's population, "
               "NSGA-II's working set (pale = early, dark = late). Red star: the supernet. Black steps: the "
               "search's front, the non-dominated set of every feasible candidate evaluated.")
_HV_NOTE = ("Front size and hypervolume: of the search's front over every candidate evaluated up to the "
            "generation (it can never fall). Population front size and hypervolume: of NSGA-II's population "
            "after survival, which may drop a non-dominated candidate; they show how the GA's working set "
            "progressed, not what the search found.")
_COST_NOTE = ("Device time is as measured and recorded in the store: accuracy and latency seconds are summed "
              "even where they ran concurrently on different devices; device-days correspond to the paper's "
              "GPU-days when the accuracy evaluation ran on a GPU.")


def _intro(data: SearchData) -> list[str]:
    c = data.config
    return [f"Store `{data.store_path}`: backbone {data.backbone}, objectives error + "
            f"{' + '.join(data.objectives)}, target {c.get('target')}, population M = {c.get('population')}, "
            f"{len(data.generations)} generation(s) finished (configured G = {c.get('generations')}), "
            f"seed {c.get('seed')}, validation subset = first {c.get('val_fraction')} of val.txt"
            + (f", accuracy scored on {data.device}." if data.device else ".")] + _supernet_text(c)


def _supernet_text(c: dict[str, Any]) -> list[str]:
    """What the errors were scored with: the weights, or a loud random-initialisation label."""
    if c.get("random_init"):
        return ["**Random initialisation**: this search scored its candidates on a randomly initialised "
                "supernet (`--random-init`, no weights), so every error is near 1.0 and the front says "
                "nothing about accuracy."]
    if not c.get("weights"):
        return []  # another evaluator (e.g. a test's fake) scored the candidates
    return [f"Supernet weights `{c['weights']}`: input {c.get('input_size')} px, {c.get('classes')} classes, "
            f"alpha {c.get('alpha')}."]


def _candidates_text(data: SearchData) -> str:
    return (f"The supernet, then the {len(data.final_front)} member(s) of the search's Pareto front (the "
            "non-dominated set of every feasible candidate evaluated) by subset error "
            "(P1, P2, ...; the supernet is not repeated when it is on the front), then fine-tuned candidates "
            "not on the front (F1, ...).")


def _candidate_notes(data: SearchData) -> list[str]:
    return [
        "error = 1 − mIoU. 'subset, no FT' is the search's own score (first "
        f"{data.config.get('val_fraction')} of val.txt, no fine-tuning); 'full set, no FT' is the same "
        "supernet's error on the whole val.txt, scored by `fmas-hw report --full-set` (else the one "
        "`fmas-hw finetune` recorded before fine-tuning); gap = 100 × (subset − full set) in points; "
        "'fine-tuned' comes from `fmas-hw finetune`; – where not computed.",
        "Device time to discovery = measured device seconds (accuracy + latency) of generations 0 … the "
        "generation in which the candidate was first asked for; in hours and in days (the paper's GPU-days).",
        f"GAP8 cycles (of the network adapted to {GAP8_INPUT_SIZE} px) carry their source: 'estimate' is the "
        "analytical cycle model, not a measurement; 'GVSoC' is the simulator; 'board' is measured on a GAP8 "
        f"board. FLOPs: TF-profiler float_ops, batch 1, at the search's {data.input_size} px input.",
        _fit_note(data),
    ]


def _fit_note(data: SearchData) -> str:
    """How many evaluated candidates cannot run on GAP8 (their cycles are flagged in the tables)."""
    records = data.evaluations.values()
    unfit, known = sum(r.fits_gap8 is False for r in records), sum(r.fits_gap8 is not None for r in records)
    constraint = ("the search rejected them (--fit-gap8)" if data.config.get("fit_gap8")
                  else "the search did not exclude them (no --fit-gap8)")
    if not known:
        return "GAP8 memory fit: not recorded in this store (it records no cycles)."
    return (f"GAP8 memory fit: {unfit} of the {known} candidates planned do not fit GAP8 memory; their cycles "
            f"are marked 'does not fit GAP8' (and crossed in red in the plots): figures of networks that "
            f"cannot run there; {constraint}.")


def _fidelity_section(data: SearchData, fid: fid_mod.Fidelity | None) -> Section:
    if fid is None:
        return Section("Proxy fidelity", text=[
            "No fine-tuning results in this store yet: run "
            f"`fmas-hw finetune --store {data.store_path}`, then report again."])
    return Section("Proxy fidelity", text=[fid_mod.describe(fid), *_other_weights_text(data)],
                   columns=fid_mod.COLUMNS, rows=fid.rows,
                   notes=["Δ = 100 × (subset error − fine-tuned full error) = fine-tuned mIoU − proxy mIoU; "
                          "it splits into subset vs full set (both without fine-tuning) plus the gain of "
                          "fine-tuning on the full set."],
                   images=[("fidelity.png", "proxy error vs fine-tuned error")])


def _other_weights_text(data: SearchData) -> list[str]:
    """A warning when the fine-tuning started from weights other than the search's."""
    weights = data.finetune_weights
    if weights.get("search", True):
        return []
    return [f"**Other weights**: the fine-tuning started from `{weights.get('path')}` (content hash "
            f"{weights.get('hash')}), not from the weights the search scored with (`fmas-hw finetune "
            "--other-weights`): the full-set errors before and after fine-tuning come from that supernet, "
            "the subset errors from the search's."]


def _front_fidelity_section(data: SearchData, front: fid_mod.FrontFidelity | None) -> Section:
    title = "Whole final front: subset vs full set, no fine-tuning"
    if front is None:
        return Section(title, level=3, text=[
            "No full-set scores of the final front in this store yet: run "
            f"`fmas-hw report --full-set --store {data.store_path}` (it scores the supernet and every front "
            "member once on the whole validation set, without fine-tuning)."])
    return Section(title, level=3, text=[fid_mod.describe_front(front)], columns=fid_mod.FRONT_COLUMNS,
                   rows=front.rows,
                   notes=["gap = 100 × (subset error − full-set error), both with the supernet's weights and "
                          "no fine-tuning: what the search's subset gets wrong about the full validation set. "
                          "Positive: the subset judged the network worse than the full set does."],
                   images=[("front-fidelity.png", "subset error vs full-set error of the final front")])


def _cost_text(acc: acc_mod.Accounting) -> str:
    text = (f"{acc.evaluations} candidate(s) evaluated over {acc.generations} generation(s) "
            f"({acc.store_hits} store hit(s)), {acc.search_seconds / 3600:.3g} device-h of search")
    if acc.saving is not None:
        text += (f"; fine-tuning only the {acc.finetuned} chosen candidate(s) instead of every evaluated one "
                 f"saves an extrapolated {100 * acc.saving:.1f} % of device time")
    return text + "."


def _summary(data: SearchData, candidates: list[dict[str, Any]], fid: fid_mod.Fidelity | None,
             front: fid_mod.FrontFidelity | None, acc: acc_mod.Accounting) -> dict[str, Any]:
    return {
        "store": str(data.store_path), "backbone": data.backbone, "objectives": list(data.objectives),
        "target": data.config.get("target"), "generations": len(data.generations),
        "random_init": bool(data.config.get("random_init")),
        "population": data.config.get("population"), "front_size": len(data.final_front),
        "hypervolume": data.archive_hypervolume,
        "population_hypervolume": [g.hypervolume for g in data.generations],
        "candidates": candidates, "accounting": acc.summary(),
        "fidelity": None if fid is None else fid.summary(),
        "front_fidelity": None if front is None else front.summary(),
    }


def _write_csvs(out: Path, data: SearchData, candidates: list[dict[str, Any]], fid: fid_mod.Fidelity | None,
                front: fid_mod.FrontFidelity | None, acc: acc_mod.Accounting) -> dict[str, Path]:
    tables = {"candidates": candidates, "generations": generation_rows(data), "accounting": acc_mod.rows(acc)}
    if fid is not None:
        tables["fidelity"] = fid.rows
    if front is not None:
        tables["front_fidelity"] = front.rows
    return {name: _write(out / f"{name}.csv", csv_text(rows)) for name, rows in tables.items()}


def _make_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"cannot create the report folder {out}: {exc.strerror}; choose another --out") from exc


def _write(path: Path, text: str) -> Path:
    _guard(path.parent, lambda: path.write_text(text, encoding="utf-8"))
    return path


def _guard(out: Path, action: Callable[[], T]) -> T:
    """Run ``action``; an OSError becomes a :class:`ReportError` naming the folder."""
    try:
        return action()
    except OSError as exc:
        raise ReportError(f"cannot write the report into {out}: {exc}; choose another --out") from exc
