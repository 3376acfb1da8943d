"""The fmas line protocol (C header <-> Python parser) and the AutoTiler per-layer formats."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fmas_targets_testkit import FIXTURES, HEADER, LAYERS, header_formats, render_run
from hypothesis import given, settings
from hypothesis import strategies as st

from fmas_hw.errors import ProtocolError
from fmas_hw.gap8.checksum import fnv1a32
from fmas_hw.targets.autotiler_log import parse_autotiler
from fmas_hw.targets.protocol import (
    PREFIX,
    PROTOCOL_VERSION,
    STATUS_CODES,
    STATUS_MEANINGS,
    FirmwareStatusError,
    FmasStreamParser,
    parse_fmas,
    parse_output,
)
from fmas_hw.targets.run_result import (
    CorruptOutputError,
    IncompleteRunError,
    TimerNotStartedError,
    is_transient,
)

EXACT_TOTAL = sum(c for _, c, _ in LAYERS)


# ---- header <-> parser agreement ----------------------------------------------------------------


def test_header_defines_every_line_format_once() -> None:
    text = HEADER.read_text()
    assert set(header_formats(text)) == {"BEGIN", "LAYER", "TOTAL", "CHECKSUM", "END"}
    for name in header_formats(text):
        assert len(re.findall(rf"#define\s+FMAS_FMT_{name}\b", text)) == 1
    # printf calls use the macros, never a literal copy of a format
    assert len(re.findall(r'"FMAS:[A-Z]+ ', text)) == 5


def test_prefix_and_version_agree_with_header() -> None:
    text = HEADER.read_text()
    assert re.search(r'#define\s+FMAS_PREFIX\s+"([^"]*)"', text).group(1) == PREFIX
    version = re.search(r"#define\s+FMAS_PROTOCOL_VERSION\s+(\d+)", text).group(1)
    assert int(version) == PROTOCOL_VERSION


def test_lines_rendered_from_header_formats_parse_back() -> None:
    result = parse_fmas(render_run(LAYERS, model="cand_42", freq=150_000_000, checksum=0xABC))
    assert [(layer.name, layer.cycles, layer.operations) for layer in result.layers] == LAYERS
    assert result.total_cycles == EXACT_TOTAL
    assert result.total_operations == sum(o for _, _, o in LAYERS)
    assert (result.model, result.protocol_version, result.freq_cl_hz) == ("cand_42", 1, 150_000_000)
    assert result.checksum == 0xABC and result.status == 0 and result.output_format == "fmas"


def test_status_codes_agree_with_header() -> None:
    defined = {
        name: int(value)
        for name, value in re.findall(r"#define\s+FMAS_STATUS_(\w+)\s+(\d+)", HEADER.read_text())
    }
    assert defined == STATUS_CODES
    assert all(code in STATUS_MEANINGS for code in STATUS_CODES.values() if code)


C_PROGRAM = r"""
#include "fmas_protocol.h"
#include <string.h>
static char *names[] = {"S1_Op_input_1_formatter", "S4_Conv2d_32x3x3x3_Relu6", "S7_MatAdd_24x96x96"};
/* 4e9 + ... overflows the u32 TOTAL: the host must still get the exact sum */
static const unsigned int cycles[] = {1180012u, 4000000000u, 301877u};
static const unsigned int ops[] = {442368u, 31850496u, 221184u};
int main(int argc, char **argv)
{
    static const unsigned char output[] = "fmas-output";
    printf("boot banner \x01 noise\n");
    fmas_begin("mbv2_from_c");
    if (argc > 1 && strcmp(argv[1], "l2") == 0) {
        fmas_end(FMAS_STATUS_CONSTRUCT_L2, 0);
        return 0;
    }
    int n = fmas_report_graph(3, names, cycles, ops, 175000000u);
    fmas_checksum(fmas_fnv1a32(output, sizeof output - 1));
    fmas_end(FMAS_STATUS_OK, n);
    return 0;
}
"""


@pytest.fixture(scope="module")
def c_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: cannot compile firmware/fmas_protocol.h for the host")
    folder = tmp_path_factory.mktemp("cprog")
    (folder / "main.c").write_text(C_PROGRAM)
    subprocess.run(
        [gcc, "-std=c99", "-Wall", "-Wextra", "-Wformat=2", "-Werror", f"-I{HEADER.parent}",
         "-o", str(folder / "main"), str(folder / "main.c")],
        check=True, capture_output=True, timeout=60,
    )
    return folder / "main"


def test_compiled_header_output_parses(c_program: Path) -> None:
    out = subprocess.run([str(c_program)], capture_output=True, check=True, timeout=10).stdout
    result = parse_output(out)
    assert result.model == "mbv2_from_c"
    assert [layer.cycles for layer in result.layers] == [1180012, 4000000000, 301877]
    assert result.total_cycles == 1180012 + 4000000000 + 301877  # exact, beyond 2^32
    assert result.checksum == fnv1a32(b"fmas-output")  # C and Python checksums agree
    assert result.freq_cl_hz == 175_000_000


def test_compiled_header_failure_status(c_program: Path) -> None:
    out = subprocess.run([str(c_program), "l2"], capture_output=True, check=True, timeout=10).stdout
    with pytest.raises(FirmwareStatusError, match="status 3: .*L2"):
        parse_output(out)


# ---- robustness of the fmas parser --------------------------------------------------------------


def test_garbage_crlf_and_prefix_noise_are_tolerated() -> None:
    lines = render_run(LAYERS)
    noisy = (
        b"\x00\xff\xfe boot \xc3\x28 garbage\r\n"
        + b"\x8f\x8fFMAS" + b":LAYER orphan before begin is ignored\r\n"
        + b"\x92\x13" + lines[0].encode().replace(b"\n", b"\r\n")
        + b"Constructor\r\nFMAS is a search method: not a protocol line\r\n"
        + "".join(lines[1:]).replace("\n", "\r\n").encode()
        + b"trailing \xff"
    )
    result = parse_output(noisy)
    assert result.total_cycles == EXACT_TOTAL and len(result.layers) == 3


@settings(max_examples=30, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12))
def test_any_chunking_gives_the_same_run(cuts: list[int]) -> None:
    data = b"\xffnoise\r\n" + "".join(render_run(LAYERS)).replace("\n", "\r\n").encode()
    parser = FmasStreamParser()
    previous = 0
    for cut in sorted(set(cuts)) + [len(data)]:
        parser.feed(data[previous:cut])
        previous = max(previous, cut)
    assert parser.ended
    assert parser.result().total_cycles == EXACT_TOTAL


def test_partial_last_line_is_completed_by_finish() -> None:
    parser = FmasStreamParser()
    text = "".join(render_run(LAYERS)).rstrip("\n")
    parser.feed(text)
    assert not parser.ended
    parser.finish()
    assert parser.ended and parser.result().checksum == 0x5A17C0DE


def test_new_begin_restarts_the_run() -> None:
    first = render_run(LAYERS)[:2]  # board reset after one layer
    result = parse_fmas(first + render_run([("S9_Only", 10, 20)], model="second"))
    assert result.model == "second" and result.total_cycles == 10


def _replace(lines: list[str], prefix: str, new: str | None) -> list[str]:
    out = [new if line.startswith(prefix) else line for line in lines]
    return [line for line in out if line is not None]


@pytest.mark.parametrize(
    ("mutate", "error", "match"),
    [
        (lambda ls: _replace(ls, "FMAS:TOTAL", "FMAS:TOTAL cycles=17 ops=1 freq_cl=1\n"),
         CorruptOutputError, "not the sum"),
        (lambda ls: _replace(ls, "FMAS:LAYER idx=1", None), IncompleteRunError, r"missing idx \[1\]"),
        (lambda ls: _replace(ls, "FMAS:END", None), IncompleteRunError, "before FMAS:END"),
        (lambda ls: _replace(ls, "FMAS:BEGIN", None), IncompleteRunError, "no FMAS:BEGIN"),
        (lambda ls: _replace(ls, "FMAS:TOTAL", None), IncompleteRunError, "no FMAS:TOTAL"),
        (lambda ls: _replace(ls, "FMAS:LAYER idx=2", "FMAS:LAYER idx=2 name=S7 cycles=3x1 ops=0\n"),
         CorruptOutputError, "malformed"),
        (lambda ls: ls[:2] + ls[1:], CorruptOutputError, "reported twice"),
        (lambda ls: _replace(ls, "FMAS:BEGIN", "FMAS:BEGIN v=2 model=m\n"), ProtocolError, "v2"),
    ],
    ids=["total-mismatch", "lost-layer", "no-end", "no-begin", "no-total", "malformed",
         "duplicate", "version"],
)
def test_inconsistent_runs_are_rejected(mutate, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        parse_fmas(mutate(render_run(LAYERS)))


def test_all_zero_cycles_explain_the_timer() -> None:
    zero = [(name, 0, ops) for name, _, ops in LAYERS]
    with pytest.raises(TimerNotStartedError, match=r"gap_cl_starttimer\(\).*gap_cl_resethwtimer"):
        parse_fmas(render_run(zero))
    assert not is_transient(TimerNotStartedError("x")) and is_transient(CorruptOutputError("x"))


def test_unknown_failure_status_still_reported() -> None:
    with pytest.raises(FirmwareStatusError, match="status 77: application-specific"):
        parse_fmas(render_run([], status=77))


# ---- AutoTiler / NNTool formats -----------------------------------------------------------------

FIXTURE_TOTAL = 47_356_715


@pytest.mark.parametrize(
    ("fixture", "fmt"),
    [("gvsoc_at_old.log", "autotiler-old"), ("gvsoc_at_new.log", "autotiler-new")],
    ids=["old", "new"],
)
def test_recorded_autotiler_logs(fixture: str, fmt: str) -> None:
    result = parse_output((FIXTURES / fixture).read_text())
    assert result.output_format == fmt
    assert len(result.layers) == 10 and result.total_cycles == FIXTURE_TOTAL
    assert result.layers[0].name == "S1_Op_input_1_formatter"
    assert result.layers[-1].name == "S100_Op_RESIZE_BILINEAR_0_101"
    assert result.total_operations == 161_759_232
    assert result.freq_cl_hz is None and result.checksum is None


def test_recorded_fmas_log() -> None:
    result = parse_output((FIXTURES / "gvsoc_fmas.log").read_text())
    assert result.output_format == "fmas" and result.total_cycles == FIXTURE_TOTAL
    assert result.model == "mbv2_3f9c2a17d04e8b61" and result.checksum == 0x5A17C0DE


def test_recorded_all_zero_log() -> None:
    with pytest.raises(TimerNotStartedError, match="issue 380"):
        parse_output((FIXTURES / "gvsoc_at_zero.log").read_text())


def test_new_format_zero_with_nan_percentages() -> None:
    line = "%45s: Cycles: %12u, Cyc%%:  -nan%%, Operations: %12u, Op%%:   0.5%%, Operations/Cycle: inf\n"
    with pytest.raises(TimerNotStartedError):
        parse_autotiler(line % ("S2_Conv2d_8x3x3x3_Relu6", 0, 2_772_224))


def test_old_format_negative_d_is_unsigned() -> None:
    fmt = "%45s: Cycles: %10d, Operations: %10d, Operations/Cycle: %f\n"
    big = 3_000_000_000
    text = fmt % ("S5_Conv2d_big", big - (1 << 32), 5, 0.0) + fmt % ("Total", big - (1 << 32), 5, 0.0)
    assert parse_autotiler(text).total_cycles == big


def test_autotiler_total_mismatch_and_last_block() -> None:
    fmt = "%45s: Cycles: %10d, Operations: %10d, Operations/Cycle: %f\n"
    first = fmt % ("S1_A", 10, 1, 0.1) + fmt % ("Total", 10, 1, 0.1)
    second = fmt % ("S1_A", 30, 1, 0.1) + fmt % ("S2_B", 12, 1, 0.1) + fmt % ("Total", 42, 2, 0.1)
    assert parse_autotiler(first + "noise\n" + second).total_cycles == 42  # last run wins
    with pytest.raises(CorruptOutputError, match="not the sum"):
        parse_autotiler(fmt % ("S1_A", 10, 1, 0.1) + fmt % ("Total", 11, 1, 0.1))


def test_fmas_lines_are_preferred_over_autotiler_lines() -> None:
    at = (FIXTURES / "gvsoc_at_old.log").read_text()
    assert parse_output(at + "".join(render_run(LAYERS))).output_format == "fmas"


def test_output_without_any_cycle_report() -> None:
    with pytest.raises(ProtocolError, match="no cycle report.*-DPERF"):
        parse_output("Launching GVSOC with command:\nhello\n")
    with pytest.raises(ProtocolError, match="no AutoTiler per-layer line"):
        parse_autotiler("nothing here\n")
