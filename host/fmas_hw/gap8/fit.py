"""The GAP8 fit verdict of a candidate: each memory level's use against what is available.

One answer that ``export``, ``measure``, ``arch`` and the search all give, so that no command
prints success (or an unlabelled cycle figure) for a network that cannot run on GAP8. It is
read off the :class:`~fmas_hw.gap8.memory.MemoryPlan` of the candidate's weightless arch graph
(:func:`~fmas_hw.gap8.arch_graph.plan_arch`): milliseconds for a search-space candidate, so
``export`` can refuse before it builds or converts anything.

Levels, in the order printed:

* **L1 tiles** — the largest minimal tile against the cluster L1 budget (hard limit);
* **L2 peak** — live activations kept in L2 against the L2 activation budget; never a failure,
  the overflow is spilled to L3 HyperRAM and costs cycles (see :mod:`.memory`);
* **L3 HyperRAM** — constants kept in L3 plus spilled activations against the HyperRAM budget
  (hard limit);
* **flash** — all constants against the HyperFlash (hard limit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import FmasError
from .arch_graph import plan_arch
from .candidate_file import GAP8_INPUT_SIZE
from .memory import MemoryPlan, format_bytes

if TYPE_CHECKING:
    from ..space import Arch


@dataclass(frozen=True)
class LevelUse:
    """Bytes one memory level needs and has.

    Attributes:
        name: the level as printed ("L1 tiles", "L2 peak", "L3 HyperRAM", "flash").
        used: bytes the network needs there.
        available: bytes the level offers the network.
        hard: True when exceeding it means the network cannot run (L2 only spills).
        note: what the figure is (the layer of the largest tile, the spilled tensors).
    """

    name: str
    used: int
    available: int
    hard: bool
    note: str = ""

    @property
    def over(self) -> bool:
        """True when the network needs more than the level has."""
        return self.used > self.available

    def text(self) -> str:
        """``"52.3 KB / 51.5 KB  OVER by 0.8 KB (largest minimal tile: 'x')"``."""
        state = ""
        if self.over:
            excess = format_bytes(self.used - self.available)
            state = f"  OVER by {excess}" if self.hard else f"  over by {excess}, spilled to L3"
        note = f" ({self.note})" if self.note else ""
        return f"{format_bytes(self.used)} / {format_bytes(self.available)}{state}{note}"

    def to_dict(self) -> dict[str, Any]:
        """JSON form: bytes used / available and whether the level is over."""
        return {"name": self.name, "used_bytes": self.used, "available_bytes": self.available,
                "hard_limit": self.hard, "over": self.over, "note": self.note}


@dataclass(frozen=True)
class FitVerdict:
    """Whether GAP8 can run a network, with every memory level's use.

    Attributes:
        fits: True when no hard limit is exceeded (the memory plan's own verdict); None when the
            network could not be planned (:func:`unknown_fit`).
        levels: L1 tiles, L2 peak, L3 HyperRAM, flash (see the module docstring); empty when unknown.
        reason: the memory plan's sentence (exceeded budgets and by how much), or why it is unknown.
        input_size: the adapted input size the plan was made at.
    """

    fits: bool | None
    levels: tuple[LevelUse, ...]
    reason: str
    input_size: int

    @property
    def headline(self) -> str:
        """``"fits (384x384 input)"``, ``"DOES NOT FIT (L3 HyperRAM over by 41.29 MB; ...)"`` or
        ``"unknown (...)"``."""
        if self.fits is None:
            return f"unknown ({self.reason})"
        if self.fits:
            return f"fits ({self.input_size}x{self.input_size} input)"
        over = ", ".join(f"{lv.name} over by {format_bytes(lv.used - lv.available)}"
                         for lv in self.levels if lv.hard and lv.over)
        return f"DOES NOT FIT ({over}; {self.input_size}x{self.input_size} input)"

    def lines(self) -> list[str]:
        """The verdict as terminal lines: the headline, then one line per level."""
        return [f"GAP8 fit         {self.headline}",
                *(f"  {lv.name:<15}{lv.text()}" for lv in self.levels)]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what ``--json`` prints under ``gap8_fit``)."""
        return {"fits": self.fits, "input_size": self.input_size, "reason": self.reason,
                "levels": [lv.to_dict() for lv in self.levels]}


def fit_verdict(plan: MemoryPlan, input_size: int = GAP8_INPUT_SIZE) -> FitVerdict:
    """The :class:`FitVerdict` of a memory plan.

    Args:
        plan: the memory plan of the adapted network.
        input_size: the input size it was planned at (only reported).
    """
    b, tile = plan.budgets, plan.max_min_tile
    constants_in_l3 = plan.weight_bytes - plan.promoted_weight_bytes
    spill = (f"{len(plan.spilled)} tensor(s) spilled, all-in-L2 peak "
             f"{format_bytes(plan.peak_activation_bytes)} at '{plan.peak_layer}'" if plan.spilled
             else f"at '{plan.peak_layer}'")
    levels = (
        LevelUse("L1 tiles", tile.min_tile_bytes, b.l1, True, f"largest minimal tile: '{tile.name}'"),
        LevelUse("L2 peak", plan.l2_activation_peak, b.l2, False, f"activations; {spill}"),
        LevelUse("L3 HyperRAM", constants_in_l3 + plan.l3_activation_peak, b.l3_ram, True,
                 f"constants {format_bytes(constants_in_l3)} + spilled activations "
                 f"{format_bytes(plan.l3_activation_peak)}"),
        LevelUse("flash", plan.weight_bytes, b.l3_flash, True, "all constants"),
    )
    return FitVerdict(plan.fits, levels, plan.reason, int(input_size))


def candidate_fit(arch: Arch, classes: int = 21, alpha: float = 1.0,
                  input_size: int = GAP8_INPUT_SIZE) -> FitVerdict:
    """The fit verdict of a candidate, from its cached weightless arch graph (no Keras build for
    a search-space candidate; the first graph imports TensorFlow).

    Raises:
        AdaptationError: a layer of the candidate cannot run on GAP8.
        ArchitectureError: the arch cannot be built with these classes / alpha.
    """
    return fit_verdict(plan_arch(arch, classes, alpha, input_size), input_size)


def known_fit(arch: Arch, classes: int = 21, alpha: float = 1.0,
              input_size: int = GAP8_INPUT_SIZE) -> FitVerdict:
    """:func:`candidate_fit`, or an unknown verdict saying why the candidate cannot be planned
    (for commands whose main answer does not depend on the fit, e.g. ``arch``)."""
    try:
        return candidate_fit(arch, classes, alpha, input_size)
    except FmasError as exc:
        return unknown_fit(f"the memory plan failed: {exc}", input_size)


def unknown_fit(why: str, input_size: int = GAP8_INPUT_SIZE) -> FitVerdict:
    """A verdict that says the fit is unknown, and ``why``."""
    return FitVerdict(None, (), why, int(input_size))


def not_runnable_label(label: str) -> str:
    """A cycle figure's label for a network that cannot run on GAP8 (so it never reads as real)."""
    return f"{label}, for a network that does NOT FIT GAP8 memory (it cannot run)"
