"""How a cycle figure is written in text: always with its unit, its source and, when known, GAP8 fit.

Every text that shows GAP8 cycles (the search summary, the report's tables) writes them through
:func:`cycles_text`, so no figure reads as bare ("2.17G") and no estimate passes for a measurement
or a network that cannot run on GAP8 for one that can.
"""

from __future__ import annotations

from .registry import target_class, target_names

#: What a cycle figure of a network that does not fit GAP8 memory says after its source.
NOT_FIT = "does not fit GAP8"


def source_title(source: str | None) -> str:
    """How a text names the target that produced a cycle figure ("estimate", "GVSoC", "board")."""
    if not source:
        return "source unknown"
    return target_class(source).title if source in target_names() else source


def cycles_text(cycles: int | None, source: str | None, fits: bool | None = None) -> str:
    """``"2189 Mcycles (estimate)"``; ``"... (estimate; does not fit GAP8)"`` when ``fits`` is False.

    Args:
        cycles: the figure (None: shown as an en dash).
        source: the store's ``cycles_source`` (a target name).
        fits: the candidate's GAP8 memory fit (None: unknown, not mentioned).
    """
    if cycles is None:
        return "–"
    value = f"{cycles / 1e6:.0f}" if cycles >= 1e7 else f"{cycles / 1e6:.3g}"
    flag = f"; {NOT_FIT}" if fits is False else ""
    return f"{value} Mcycles ({source_title(source)}{flag})"
