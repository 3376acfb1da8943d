"""What any GAP8 run-output parser returns: a validated :class:`RunResult`, and its errors.

Shared by the fmas line protocol (:mod:`.protocol`) and the AutoTiler/NNTool per-layer lines
(:mod:`.autotiler_log`): the total equals the sum of the layers (modulo 2^32, as the firmware's
u32 counters wrap), and a run in which every layer reports 0 cycles is rejected (the cluster timer
was never started, gap_sdk issue 380).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ProtocolError
from .measurement import LayerCycles, Measurement

U32 = 1 << 32


class IncompleteRunError(ProtocolError):
    """Part of a run is missing (no BEGIN, no END, lost LAYER lines): retrying may help."""

    transient = True


class CorruptOutputError(ProtocolError):
    """A protocol line is malformed or inconsistent (e.g. UART noise): retrying may help."""

    transient = True


class TimerNotStartedError(ProtocolError):
    """Every layer reports 0 cycles: the firmware never started the cluster timer."""

    transient = False


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` may go away on a retry (lost or corrupted output, not a firmware bug)."""
    return bool(getattr(exc, "transient", False))


@dataclass(frozen=True)
class RunResult:
    """One inference as the firmware reported it, validated.

    Attributes:
        layers: per-node cycles in execution order.
        total_cycles: exact sum of the layer cycles (no 32-bit wrap).
        total_operations: sum of the layer operations, ``None`` when not reported.
        output_format: ``"fmas"``, ``"autotiler-old"`` or ``"autotiler-new"``.
        model: model name from ``FMAS:BEGIN`` (fmas only).
        protocol_version: ``v=`` of ``FMAS:BEGIN`` (fmas only).
        freq_cl_hz: cluster clock the firmware set (fmas only).
        checksum: output checksum (fmas only, when printed).
        status: ``FMAS:END`` status (fmas only; always 0 in a returned result).
    """

    layers: tuple[LayerCycles, ...]
    total_cycles: int
    total_operations: int | None
    output_format: str
    model: str | None = None
    protocol_version: int | None = None
    freq_cl_hz: int | None = None
    checksum: int | None = None
    status: int | None = None

    def to_measurement(
        self,
        source: str,
        default_freq_hz: int,
        tool_versions: dict[str, str] | None = None,
        log_path: str | None = None,
        expected_checksum: int | None = None,
    ) -> Measurement:
        """A :class:`Measurement` of this run (never an estimate).

        Args:
            source: ``"gvsoc"`` or ``"board"``.
            default_freq_hz: cluster clock to use when the output does not state it.
            tool_versions: versions to record; the output format is added.
            log_path: the kept log the run was parsed from.
            expected_checksum: the project's expected output checksum (``model/expected.json``).
        """
        versions = dict(tool_versions or {})
        versions["output_format"] = self.output_format
        if self.protocol_version is not None:
            versions["fmas_protocol"] = str(self.protocol_version)
        return Measurement(
            total_cycles=self.total_cycles,
            per_layer=list(self.layers),
            cluster_freq_hz=self.freq_cl_hz or default_freq_hz,
            source=source,
            estimated=False,
            tool_versions=versions,
            log_path=log_path,
            checksum=self.checksum,
            expected_checksum=expected_checksum,
        )


def check_cycles(layers: list[LayerCycles], printed_total: int | None, where: str) -> int:
    """Validate layer cycles against the printed total; return the exact total."""
    if not layers:
        raise IncompleteRunError(f"{where}: the run reported no layer")
    if all(layer.cycles == 0 for layer in layers):
        raise TimerNotStartedError(
            f"{where}: all {len(layers)} layers report 0 cycles: the cluster performance timer "
            "was never started. Call gap_cl_starttimer(); gap_cl_resethwtimer(); on the cluster "
            "before running the graph, build with -DPERF and NNTool 'set graph_monitor_cycles "
            "true' (gap_sdk issue 380)"
        )
    exact = sum(layer.cycles for layer in layers)
    # Firmware totals are u32 sums (and the old AutoTiler format prints them with %d).
    if printed_total is not None and printed_total % U32 != exact % U32:
        raise CorruptOutputError(
            f"{where}: the total ({printed_total} cycles) is not the sum of the "
            f"{len(layers)} layers ({exact}); output corrupted or lines lost"
        )
    return exact


def sum_ops(layers: list[LayerCycles]) -> int | None:
    if any(layer.operations is None for layer in layers):
        return None
    return sum(int(layer.operations or 0) for layer in layers)


def to_lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return source.splitlines()
    return (line.rstrip("\r\n") for line in source)
