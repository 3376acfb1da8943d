"""Parse the AutoTiler/NNTool per-layer performance lines of GreenWaves' example mains.

Old (``%45s: Cycles: %10d, Operations: %10d, Operations/Cycle: %f``) and new
(``... Cycles: %12u, Cyc%%: %5.1f%%, Operations: %12u, Op%%: %5.1f%%, ...``) formats, with the
``Total`` line: the fallback for projects not using our firmware (:func:`parse_autotiler`).
Interleaved other lines, ``\\r\\n`` endings and undecodable bytes are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import ProtocolError
from .measurement import LayerCycles
from .run_result import U32, RunResult, check_cycles, sum_ops, to_lines

# Both formats of gap8-toolchain.md §3.3; Cyc%/Op% only in the new one. %d of a u32 above 2^31
# prints negative, and %f of 0/0 prints inf/nan: accept both, the ratio is not used.
AT_LINE_RE = re.compile(
    r"^\s*(?P<name>[^\s:]+):\s*Cycles:\s*(?P<cycles>-?\d+),"
    r"(?P<new>\s*Cyc%:\s*[^,]*,)?"
    r"\s*Operations:\s*(?P<ops>-?\d+),"
    r"(?:\s*Op%:\s*[^,]*,)?"
    r"\s*Operations/Cycle:\s*\S*\s*$"
)


@dataclass
class _AtBlock:
    layers: list[LayerCycles] = field(default_factory=list)
    total: LayerCycles | None = None
    new_format: bool = False


def _at_blocks(lines: Iterable[str]) -> list[_AtBlock]:
    """Group AutoTiler lines into runs: a ``Total`` line closes a run."""
    blocks = [_AtBlock()]
    for line in lines:
        match = AT_LINE_RE.match(line)
        if match is None:
            continue
        if blocks[-1].total is not None:
            blocks.append(_AtBlock())
        block = blocks[-1]
        block.new_format = block.new_format or match["new"] is not None
        entry = LayerCycles(match["name"], int(match["cycles"]) % U32, int(match["ops"]) % U32)
        if entry.name == "Total":
            block.total = entry
        else:
            block.layers.append(entry)
    return [b for b in blocks if b.layers or b.total is not None]


def parse_autotiler(source: str | bytes | Iterable[str]) -> RunResult:
    """Parse AutoTiler/NNTool per-layer performance lines (old or new format).

    Args:
        source: the whole output (text or bytes) or an iterable of lines.

    Returns:
        The validated run (the last complete one when the log holds several).

    Raises:
        ProtocolError: no per-layer line was found.
        CorruptOutputError: ``Total`` is not the sum of the layers.
        TimerNotStartedError: every layer reports 0 cycles.
    """
    blocks = _at_blocks(to_lines(source))
    if not blocks:
        raise ProtocolError(
            "no AutoTiler per-layer line ('<node>: Cycles: ..., Operations: ...') in the output: "
            "build with -DPERF and NNTool graph_monitor_cycles/produce_node_names true"
        )
    complete = [b for b in blocks if b.total is not None and b.layers]
    block = complete[-1] if complete else blocks[-1]
    printed = block.total.cycles if block.total is not None else None
    total = check_cycles(block.layers, printed, "AutoTiler output")
    return RunResult(
        layers=tuple(block.layers),
        total_cycles=total,
        total_operations=sum_ops(block.layers),
        output_format="autotiler-new" if block.new_format else "autotiler-old",
    )
