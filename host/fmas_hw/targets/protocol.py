"""Parse what GAP8 firmware prints about one inference: the fmas line protocol and AutoTiler lines.

Two input formats are understood:

* the **fmas line protocol** (``firmware/fmas_protocol.h``, version 1) — the format our firmware
  prints: ``FMAS:BEGIN`` handshake, one ``FMAS:LAYER`` per graph node, ``FMAS:TOTAL``, an optional
  ``FMAS:CHECKSUM`` and the ``FMAS:END`` sentinel. :class:`FmasStreamParser` reads it incrementally
  (UART bytes in arbitrary chunks), :func:`parse_fmas` from a complete log;
* the **AutoTiler/NNTool per-layer lines** printed by GreenWaves' example mains, old
  (``%45s: Cycles: %10d, Operations: %10d, Operations/Cycle: %f``) and new
  (``... Cycles: %12u, Cyc%%: %5.1f%%, Operations: %12u, Op%%: %5.1f%%, ...``) format, with the
  ``Total`` line — :func:`parse_autotiler`, the fallback for projects not using our firmware.

:func:`parse_output` picks the format. Every parser returns a validated :class:`RunResult`: the total
equals the sum of the layers (modulo 2^32, as the firmware's u32 counters wrap), and a run in which
every layer reports 0 cycles is rejected (the cluster timer was never started, gap_sdk issue 380).
Both parsers ignore interleaved non-protocol lines, ``\\r\\n`` endings and undecodable bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import MeasurementError, ProtocolError
from .base import LayerCycles, Measurement

PROTOCOL_VERSION = 1
PREFIX = "FMAS:"
_U32 = 1 << 32

#: ``FMAS_STATUS_*`` codes of the header (a test keeps both in agreement).
STATUS_CODES: dict[str, int] = {
    "OK": 0,
    "CONSTRUCT_OPEN": 1,
    "CONSTRUCT_L3": 2,
    "CONSTRUCT_L2": 3,
    "CONSTRUCT_L1": 4,
    "CLUSTER_OPEN": 10,
    "INPUT": 11,
    "ALLOC": 12,
    "RUN": 13,
}

#: What a non-zero ``FMAS:END status`` means, and what to do about it.
STATUS_MEANINGS: dict[int, str] = {
    1: "CNN_Construct could not open the L3 device (HyperRAM/HyperFlash); check the board "
    "configuration and that the weights (.dat) were flashed (READFS_FILES)",
    2: "CNN_Construct could not allocate L3 memory; the weights/activations exceed the 8 MB HyperRAM",
    3: "CNN_Construct could not allocate L2 memory; the network does not fit the 512 KB L2 "
    "(lower MODEL_L2_MEMORY or pick a smaller candidate)",
    4: "CNN_Construct could not allocate L1 memory; lower MODEL_L1_MEMORY",
    10: "the cluster could not be opened (pi_cluster_open)",
    11: "the input could not be loaded",
    12: "an application buffer could not be allocated",
    13: "the graph returned an error",
}


class IncompleteRunError(ProtocolError):
    """Part of a run is missing (no BEGIN, no END, lost LAYER lines): retrying may help."""

    transient = True


class CorruptOutputError(ProtocolError):
    """A protocol line is malformed or inconsistent (e.g. UART noise): retrying may help."""

    transient = True


class TimerNotStartedError(ProtocolError):
    """Every layer reports 0 cycles: the firmware never started the cluster timer."""

    transient = False


class FirmwareStatusError(MeasurementError):
    """The firmware ran but reported a failure in ``FMAS:END status=<n>``."""

    transient = False


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` may go away on a retry (lost or corrupted output, not a firmware bug)."""
    return bool(getattr(exc, "transient", False))


def fnv1a32(data: bytes) -> int:
    """FNV-1a 32-bit hash: the output checksum of ``fmas_fnv1a32`` in the header.

    Args:
        data: the bytes of the output tensor, as laid out in GAP8 memory.

    Returns:
        The checksum the firmware prints in ``FMAS:CHECKSUM``.
    """
    value = 2166136261
    for byte in data:
        value = ((value ^ byte) * 16777619) % _U32
    return value


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


# ---- shared validation --------------------------------------------------------------------------


def _check_cycles(layers: list[LayerCycles], printed_total: int | None, where: str) -> int:
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
    if printed_total is not None and printed_total % _U32 != exact % _U32:
        raise CorruptOutputError(
            f"{where}: the total ({printed_total} cycles) is not the sum of the "
            f"{len(layers)} layers ({exact}); output corrupted or lines lost"
        )
    return exact


def _sum_ops(layers: list[LayerCycles]) -> int | None:
    if any(layer.operations is None for layer in layers):
        return None
    return sum(int(layer.operations or 0) for layer in layers)


def _to_lines(source: str | bytes | Iterable[str]) -> Iterable[str]:
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return source.splitlines()
    return (line.rstrip("\r\n") for line in source)


# ---- fmas line protocol -------------------------------------------------------------------------

_FMAS_RE: dict[str, re.Pattern[str]] = {
    "BEGIN": re.compile(r"FMAS:BEGIN v=(?P<v>\d+) model=(?P<model>\S+)"),
    "LAYER": re.compile(
        r"FMAS:LAYER idx=(?P<idx>\d+) name=(?P<name>\S+) cycles=(?P<cycles>\d+) ops=(?P<ops>\d+)"
    ),
    "TOTAL": re.compile(r"FMAS:TOTAL cycles=(?P<cycles>\d+) ops=(?P<ops>\d+) freq_cl=(?P<freq>\d+)"),
    "CHECKSUM": re.compile(r"FMAS:CHECKSUM value=(?:0x)?(?P<value>[0-9a-fA-F]{1,8})"),
    "END": re.compile(r"FMAS:END status=(?P<status>-?\d+) layers=(?P<layers>\d+)"),
}


@dataclass
class _FmasRun:
    """Mutable state of the run being read."""

    version: int
    model: str
    layers: dict[int, LayerCycles] = field(default_factory=dict)
    total: tuple[int, int, int] | None = None
    checksum: int | None = None
    end: tuple[int, int] | None = None


class FmasStreamParser:
    """Incremental reader of the fmas line protocol.

    Feed it bytes or text in chunks of any size (:meth:`feed`); lines may be split across chunks.
    Lines before ``FMAS:BEGIN`` and non-protocol lines are ignored; a new ``FMAS:BEGIN`` restarts
    the run (the board was reset). After ``FMAS:END``, :attr:`ended` is True and :meth:`result`
    returns the validated run.

    Args:
        max_line_bytes: a line longer than this (noise without newlines) is dropped, bounding memory.
    """

    def __init__(self, max_line_bytes: int = 4096) -> None:
        self._buffer = b""
        self._max = max_line_bytes
        self._run: _FmasRun | None = None
        self.lines_seen = 0

    @property
    def begun(self) -> bool:
        """True once an ``FMAS:BEGIN`` line was read (the handshake)."""
        return self._run is not None

    @property
    def ended(self) -> bool:
        """True once the ``FMAS:END`` sentinel of the current run was read."""
        return self._run is not None and self._run.end is not None

    def feed(self, data: bytes | str) -> list[str]:
        """Add a chunk of output; process every line it completes.

        Args:
            data: raw bytes (any encoding; undecodable bytes are replaced) or text.

        Returns:
            The complete lines processed, decoded, without line endings.

        Raises:
            CorruptOutputError: a protocol line inside a run is malformed.
            ProtocolError: the firmware speaks an unsupported protocol version.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._buffer += data
        *complete, self._buffer = self._buffer.split(b"\n")
        if len(self._buffer) > self._max:
            self._buffer = b""  # noise without newline: drop it rather than grow without bound
        lines = [raw.decode("utf-8", errors="replace").rstrip("\r") for raw in complete]
        for line in lines:
            self.feed_line(line)
        return lines

    def finish(self) -> None:
        """Process a last line that had no newline (end of a complete log)."""
        if self._buffer:
            rest, self._buffer = self._buffer, b""
            self.feed_line(rest.decode("utf-8", errors="replace").rstrip("\r"))

    def feed_line(self, line: str) -> None:
        """Process one complete line (without its newline); see :meth:`feed` for errors."""
        self.lines_seen += 1
        start = line.find(PREFIX)
        if start < 0:
            return
        # Garbage may precede the prefix on the same line (UART noise at boot without newline).
        text = line[start:].rstrip()
        if text.startswith("FMAS:BEGIN"):
            self._begin(text)
        elif self._run is not None and self._run.end is None:
            self._in_run(text)

    def _begin(self, text: str) -> None:
        match = _FMAS_RE["BEGIN"].fullmatch(text)
        if match is None:
            raise CorruptOutputError(f"malformed protocol line: {text!r}")
        version = int(match["v"])
        if version != PROTOCOL_VERSION:
            raise ProtocolError(
                f"the firmware speaks fmas protocol v{version}, this host understands "
                f"v{PROTOCOL_VERSION}: rebuild the firmware with this fmas-hw's "
                "firmware/fmas_protocol.h (or upgrade fmas-hw)"
            )
        self._run = _FmasRun(version=version, model=match["model"])

    def _in_run(self, text: str) -> None:
        run = self._run
        if run is None:  # pragma: no cover - guarded by feed_line
            return
        kind = text[len(PREFIX) :].split(" ", 1)[0]
        pattern = _FMAS_RE.get(kind)
        match = pattern.fullmatch(text) if pattern is not None else None
        if match is None:
            raise CorruptOutputError(f"malformed protocol line: {text!r}")
        if kind == "LAYER":
            self._add_layer(run, match)
        elif kind == "TOTAL":
            run.total = (int(match["cycles"]), int(match["ops"]), int(match["freq"]))
        elif kind == "CHECKSUM":
            run.checksum = int(match["value"], 16)
        elif kind == "END":
            run.end = (int(match["status"]), int(match["layers"]))

    @staticmethod
    def _add_layer(run: _FmasRun, match: re.Match[str]) -> None:
        idx = int(match["idx"])
        if idx in run.layers:
            raise CorruptOutputError(f"layer idx={idx} reported twice in one run")
        run.layers[idx] = LayerCycles(match["name"], int(match["cycles"]), int(match["ops"]))

    def result(self) -> RunResult:
        """The validated run.

        Returns:
            The run of the last ``FMAS:BEGIN`` … ``FMAS:END``.

        Raises:
            IncompleteRunError: no BEGIN, no END, no TOTAL, or LAYER lines missing.
            CorruptOutputError: TOTAL is not the sum of the layers.
            TimerNotStartedError: every layer reports 0 cycles.
            FirmwareStatusError: END reports a non-zero status.
        """
        run = self._run
        if run is None:
            raise IncompleteRunError(
                "no FMAS:BEGIN line in the output: the firmware did not start, does not use "
                "firmware/fmas_protocol.h, or its output goes elsewhere (io=uart vs io=host)"
            )
        if run.end is None:
            raise IncompleteRunError(
                f"the output stops before FMAS:END after {len(run.layers)} layer line(s): the "
                "firmware crashed or hung, or the output was cut"
            )
        status, n_layers = run.end
        if status != 0:
            meaning = STATUS_MEANINGS.get(status, "application-specific failure")
            raise FirmwareStatusError(f"the firmware reported status {status}: {meaning}")
        return self._validated(run, n_layers)

    @staticmethod
    def _validated(run: _FmasRun, n_layers: int) -> RunResult:
        missing = sorted(set(range(n_layers)) - set(run.layers))
        extra = sorted(set(run.layers) - set(range(n_layers)))
        if missing or extra:
            raise IncompleteRunError(
                f"FMAS:END announces {n_layers} layers but {len(run.layers)} were received "
                f"(missing idx {missing[:10]}, unexpected idx {extra[:10]}): lines were lost"
            )
        if run.total is None:
            raise IncompleteRunError("the run has no FMAS:TOTAL line: lines were lost")
        layers = [run.layers[i] for i in range(n_layers)]
        total = _check_cycles(layers, run.total[0], "fmas output")
        return RunResult(
            layers=tuple(layers),
            total_cycles=total,
            total_operations=_sum_ops(layers),
            output_format="fmas",
            model=run.model,
            protocol_version=run.version,
            freq_cl_hz=run.total[2] or None,
            checksum=run.checksum,
            status=0,
        )


def parse_fmas(source: str | bytes | Iterable[str]) -> RunResult:
    """Parse a complete log holding fmas protocol lines.

    Args:
        source: the whole output (text or bytes) or an iterable of lines.

    Returns:
        The validated run (the last one when the log holds several).

    Raises:
        The errors of :meth:`FmasStreamParser.feed` and :meth:`FmasStreamParser.result`.
    """
    parser = FmasStreamParser()
    for line in _to_lines(source):
        parser.feed_line(line)
    return parser.result()


# ---- AutoTiler / NNTool per-layer lines ---------------------------------------------------------

# Both formats of gap8-toolchain.md §3.3; Cyc%/Op% only in the new one. %d of a u32 above 2^31
# prints negative, and %f of 0/0 prints inf/nan: accept both, the ratio is not used.
_AT_RE = re.compile(
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
        match = _AT_RE.match(line)
        if match is None:
            continue
        if blocks[-1].total is not None:
            blocks.append(_AtBlock())
        block = blocks[-1]
        block.new_format = block.new_format or match["new"] is not None
        entry = LayerCycles(match["name"], int(match["cycles"]) % _U32, int(match["ops"]) % _U32)
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
    blocks = _at_blocks(_to_lines(source))
    if not blocks:
        raise ProtocolError(
            "no AutoTiler per-layer line ('<node>: Cycles: ..., Operations: ...') in the output: "
            "build with -DPERF and NNTool graph_monitor_cycles/produce_node_names true"
        )
    complete = [b for b in blocks if b.total is not None and b.layers]
    block = complete[-1] if complete else blocks[-1]
    printed = block.total.cycles if block.total is not None else None
    total = _check_cycles(block.layers, printed, "AutoTiler output")
    return RunResult(
        layers=tuple(block.layers),
        total_cycles=total,
        total_operations=_sum_ops(block.layers),
        output_format="autotiler-new" if block.new_format else "autotiler-old",
    )


def has_fmas_lines(lines: Iterable[str]) -> bool:
    """True when any line carries an ``FMAS:BEGIN`` handshake."""
    return any("FMAS:BEGIN" in line for line in lines)


def parse_output(source: str | bytes | Iterable[str]) -> RunResult:
    """Parse a complete run log: fmas protocol lines when present, else AutoTiler lines.

    Args:
        source: the whole output (text or bytes) or an iterable of lines.

    Returns:
        The validated run.

    Raises:
        ProtocolError: neither format is present (the message says what was expected), or one of
            the subclasses raised by :func:`parse_fmas` / :func:`parse_autotiler`.
        FirmwareStatusError: the fmas run ended with a non-zero status.
    """
    lines = list(_to_lines(source))
    if has_fmas_lines(lines):
        return parse_fmas(lines)
    if any(_AT_RE.match(line) for line in lines):
        return parse_autotiler(lines)
    raise ProtocolError(
        "no cycle report in the output: expected fmas protocol lines (FMAS:BEGIN ... FMAS:END, "
        "firmware/fmas_protocol.h) or AutoTiler per-layer 'Cycles:' lines; check that the "
        "firmware was built with -DPERF and that the run reached the network"
    )
