"""Search cost accounting: what the search and the fine-tuning cost, in candidates and device time.

Device time is what the store recorded, as measured: ``accuracy_seconds`` (forward passes over the
validation subset, on the search's accelerator), ``latency_seconds`` (the GAP8 target: the cycle
model, GVSoC or a board) and the fine-tuning's ``seconds``. Accuracy and latency may have run
concurrently on different devices; their seconds are summed, as device time, not wall time.

The paper's claim is a cost ratio: fine-tuning only the final candidates instead of every
evaluated one. When fine-tuning results exist, that alternative is extrapolated from the mean
fine-tuning time per candidate and reported as such.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..store.records import Status
from .source import SearchData
from .tables import Column, blank, days, hours, plain


@dataclass(frozen=True)
class Accounting:
    """Counts and device seconds of a search (see the module docstring).

    Attributes:
        generations / population: generations finished, population size M.
        evaluations: candidates evaluated (store misses), whatever their status.
        ok / failed / rejected: their outcomes ('rejected' = a cheap constraint, not evaluated).
        over_budget: of the 'ok' ones, those whose figures break ``max_cycles`` / ``max_params``
            (known only after evaluation): stored, never on the front; ``over_budget_by`` per budget.
        store_hits: candidates asked for again and served from the store, over all generations.
        accuracy_seconds / latency_seconds: device seconds of the evaluations.
        finetuned / finetune_seconds: candidates fine-tuned (rows 'done') and seconds of all rows.
        finetune_all_seconds: extrapolated seconds to fine-tune every evaluated candidate (None
            without fine-tuning results).
        wall_seconds: wall-clock seconds of the generations.
    """

    generations: int
    population: int | None
    evaluations: int
    ok: int
    failed: int
    rejected: int
    over_budget: int
    over_budget_by: dict[str, int]
    store_hits: int
    accuracy_seconds: float
    latency_seconds: float
    finetuned: int
    finetune_seconds: float
    finetune_all_seconds: float | None
    wall_seconds: float

    @property
    def search_seconds(self) -> float:
        """Device seconds of the search (accuracy + latency)."""
        return self.accuracy_seconds + self.latency_seconds

    @property
    def total_seconds(self) -> float:
        """Device seconds of search and fine-tuning."""
        return self.search_seconds + self.finetune_seconds

    @property
    def saving(self) -> float | None:
        """Fraction of device time saved against fine-tuning every evaluated candidate."""
        if not self.finetune_all_seconds:
            return None
        return 1.0 - self.total_seconds / (self.search_seconds + self.finetune_all_seconds)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary, derived totals included."""
        return {**asdict(self), "search_seconds": self.search_seconds, "total_seconds": self.total_seconds,
                "saving": self.saving}


def accounting(data: SearchData) -> Accounting:
    """Count the evaluations, hits and device seconds recorded in the store."""
    records = list(data.evaluations.values())
    status = [r.status for r in records]
    tuned = list(data.finetune.values())
    done = sum(r.done for r in tuned)
    finetune_seconds = sum(r.seconds or 0.0 for r in tuned)
    per_candidate = finetune_seconds / done if done else None
    return Accounting(
        generations=len(data.generations), population=data.config.get("population"),
        evaluations=len(records), ok=status.count(Status.OK), failed=status.count(Status.FAILED),
        rejected=status.count(Status.REJECTED),
        over_budget=sum(bool(data.limits.broken(r)) for r in records if r.status == Status.OK),
        over_budget_by=data.limits.over_budget(records), store_hits=sum(g.n_hits for g in data.generations),
        accuracy_seconds=sum(r.accuracy_seconds for r in records),
        latency_seconds=sum(r.latency_seconds for r in records),
        finetuned=done, finetune_seconds=finetune_seconds,
        finetune_all_seconds=None if per_candidate is None else per_candidate * len(records),
        wall_seconds=sum(g.wall_seconds for g in data.generations),
    )


def rows(acc: Accounting, target: str = "") -> list[dict[str, Any]]:
    """The accounting as table rows: item, count, device seconds (None where not a time)."""
    measured_on = f" ({target} target)" if target else ""
    out = [
        _item("candidates evaluated (store misses)", acc.evaluations),
        _item("of which ok", acc.ok), _item("of which failed", acc.failed),
        _item("of which rejected by a constraint before evaluation", acc.rejected),
        _item("of the ok ones, over a budget after evaluation (not on the front"
              f"{_budgets(acc.over_budget_by)})", acc.over_budget),
        _item("store hits (repeats served from the store)", acc.store_hits),
        _item("accuracy evaluation on the validation subset", acc.ok, acc.accuracy_seconds),
        _item(f"latency measurement{measured_on}", acc.ok, acc.latency_seconds),
        _item("search total", acc.evaluations, acc.search_seconds),
        _item("fine-tuning", acc.finetuned, acc.finetune_seconds),
        _item("search + fine-tuning", None, acc.total_seconds),
    ]
    if acc.finetune_all_seconds is not None:
        out.append(_item("fine-tuning every evaluated candidate (extrapolated)", acc.evaluations,
                         acc.finetune_all_seconds))
    return out


def _budgets(by: dict[str, int]) -> str:
    return "".join(f"; {n} over --{name.replace('_', '-')}" for name, n in sorted(by.items()))


def _item(what: str, count: int | None, seconds: float | None = None) -> dict[str, Any]:
    return {"item": what, "count": count, "device_seconds": seconds}


COLUMNS = [
    Column("item", "item"), Column("count", "candidates", plain, True),
    Column("device_seconds", "device time (s)", blank(lambda v: f"{v:.1f}"), True),
    Column("device_seconds", "device-h", hours, True), Column("device_seconds", "device-days", days, True),
]
