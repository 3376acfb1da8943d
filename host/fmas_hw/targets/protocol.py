"""Parse what GAP8 firmware prints about one inference: the fmas line protocol.

The **fmas line protocol** (``firmware/fmas_protocol.h``, version 1) is the format our firmware
prints: ``FMAS:BEGIN`` handshake, one ``FMAS:LAYER`` per graph node, ``FMAS:TOTAL``, an optional
``FMAS:CHECKSUM`` and the ``FMAS:END`` sentinel. :class:`FmasStreamParser` reads it incrementally
(UART bytes in arbitrary chunks), :func:`parse_fmas` from a complete log. :func:`parse_output`
reads a whole run log in either this protocol or, for projects not using our firmware, the
AutoTiler/NNTool per-layer lines (:mod:`.autotiler_log`). Every parser returns a validated
:class:`~.run_result.RunResult`; interleaved non-protocol lines, ``\\r\\n`` endings and
undecodable bytes are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MeasurementError, ProtocolError
from .autotiler_log import AT_LINE_RE, parse_autotiler
from .measurement import LayerCycles
from .run_result import (
    CorruptOutputError,
    IncompleteRunError,
    RunResult,
    check_cycles,
    sum_ops,
    to_lines,
)

PROTOCOL_VERSION = 1
PREFIX = "FMAS:"

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


class FirmwareStatusError(MeasurementError):
    """The firmware ran but reported a failure in ``FMAS:END status=<n>``."""

    transient = False


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
        total = check_cycles(layers, run.total[0], "fmas output")
        return RunResult(
            layers=tuple(layers),
            total_cycles=total,
            total_operations=sum_ops(layers),
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
    for line in to_lines(source):
        parser.feed_line(line)
    return parser.result()


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
    lines = list(to_lines(source))
    if has_fmas_lines(lines):
        return parse_fmas(lines)
    if any(AT_LINE_RE.match(line) for line in lines):
        return parse_autotiler(lines)
    raise ProtocolError(
        "no cycle report in the output: expected fmas protocol lines (FMAS:BEGIN ... FMAS:END, "
        "firmware/fmas_protocol.h) or AutoTiler per-layer 'Cycles:' lines; check that the "
        "firmware was built with -DPERF and that the run reached the network"
    )


def parse_log(path: Path) -> RunResult:
    """Parse a kept run log; parse errors name the log.

    Raises:
        ProtocolError: (or a subclass) the log holds no usable cycle report.
        FirmwareStatusError: the firmware reported a failure.
    """
    text = path.read_text(errors="replace")
    try:
        return parse_output(text)
    except (ProtocolError, FirmwareStatusError) as exc:
        raise type(exc)(f"{exc} (log: {path})") from exc
