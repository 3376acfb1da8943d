"""Progress of a running search (a tqdm bar per generation) and its one-screen summary."""

from __future__ import annotations

import sys
from typing import IO

from tqdm import tqdm

from ..targets.figures import cycles_text
from .result import SearchResult


class Progress:
    """One tqdm bar per generation on stderr: candidates done, front size, hypervolume.

    Args:
        generations: total number of generations (for the bar's label).
        enabled: True/False to force; None shows bars only when stderr is a terminal.
    """

    def __init__(self, generations: int, enabled: bool | None = None) -> None:
        self.generations = generations
        self.enabled = enabled
        self._bar: tqdm | None = None

    def start(self, gen: int, total: int, hits: int) -> None:
        """A generation asked for ``total`` candidates, ``hits`` of them already stored."""
        self._bar = tqdm(total=total, desc=f"gen {gen + 1}/{self.generations}", unit="cand",
                         file=sys.stderr, leave=True, dynamic_ncols=True,
                         disable=None if self.enabled is None else not self.enabled)
        self._bar.update(hits)
        self._bar.set_postfix_str(f"{hits} from store")

    def advance(self, n: int = 1) -> None:
        """``n`` more candidates finished."""
        if self._bar is not None:
            self._bar.update(n)

    def finish(self, front_size: int, hv: float) -> None:
        """The generation is told to the GA: show its front size and hypervolume."""
        if self._bar is not None:
            self._bar.set_postfix_str(f"front {front_size}, HV {hv:.4f}")
            self._bar.close()
            self._bar = None


def _ahead_line(result: SearchResult) -> list[str]:
    ahead = result.measured_ahead
    if not ahead:
        return []
    return [f"measured ahead of their generation: {ahead['made']} guessed, {ahead['used']} asked for, "
            f"{ahead['cancelled']} cancelled, {ahead['wasted']} measured for nothing"]


def format_summary(result: SearchResult, objectives: tuple[str, ...]) -> str:
    """The end-of-search summary: counts, front table (best error first), store path."""
    lines = [
        f"search finished: {result.generations} generations, {result.evaluations} evaluated, "
        f"{result.store_hits} from store, {result.failures} failed, {result.rejected} rejected before "
        f"evaluation, {over_budget_text(result.over_budget, result.over_budget_by)}",
        f"device time: {result.device_seconds:.1f} s; final hypervolume: "
        f"{result.hypervolume[-1] if result.hypervolume else 0.0:.4f}",
        *_ahead_line(result),
        "",
        _front_table(result, objectives),
        "",
        f"store: {result.store_path}",
    ]
    return "\n".join(lines)


def over_budget_text(total: int, by: dict[str, int]) -> str:
    """``"3 over budget after evaluation (2 over --max-cycles, 1 over --max-params), not on the front"``."""
    if not total:
        return "0 over budget after evaluation"
    parts = ", ".join(f"{n} over --{name.replace('_', '-')}" for name, n in sorted(by.items()))
    return f"{total} over budget after evaluation ({parts}), not on the front"


def _front_table(result: SearchResult, objectives: tuple[str, ...]) -> str:
    """The front, one row per member; GAP8 cycles with unit and source (and the fit flag) whether
    or not latency was an objective, so a figure never reads bare."""
    header = ["#", "genome", "error", *(o for o in objectives if o != "latency"), "GAP8 latency"]
    rows = [[str(i), e["genome"], f"{e['error']:.4f}", *(_human(e[o], o) for o in objectives if o != "latency"),
             cycles_text(e.get("cycles"), e.get("cycles_source"), e.get("fits_gap8"))]
            for i, e in enumerate(result.front)]
    if not rows:
        return "Pareto front: empty (no feasible candidate)"
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([f"Pareto front ({len(rows)} candidates):", fmt.format(*header),
                      *(fmt.format(*r) for r in rows)])


#: The unit each non-cycle cost objective is written with.
UNITS = {"flops": "FLOPs", "params": "params"}


def _human(value: int | float | None, objective: str) -> str:
    """``"2.17 GFLOPs"``, ``"3.45 M params"``: scaled, with the objective's unit."""
    if value is None:
        return "-"
    unit = UNITS.get(objective, "")
    glue = "" if unit == "FLOPs" else " "
    for prefix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.2f} {prefix}{glue}{unit}".rstrip()
    return f"{value} {unit}".rstrip()


def print_summary(result: SearchResult, objectives: tuple[str, ...], file: IO[str] | None = None) -> None:
    """Print :func:`format_summary` to ``file`` (stdout by default)."""
    print(format_summary(result, objectives), file=file or sys.stdout)
