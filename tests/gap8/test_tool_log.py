"""Converter output goes to a log file: OS-level descriptors and Python streams alike."""

from __future__ import annotations

import ctypes
import os
import sys

import pytest

from fmas_hw.gap8.tool_log import output_to_log


def test_c_level_and_python_output_land_in_the_log(tmp_path, capfd):
    log = tmp_path / "logs" / "export.log"
    with output_to_log(log):
        os.write(2, b"Summary on the non-converted ops\n")  # what the MLIR converter does
        ctypes.CDLL(None).printf(b"fully_quantize: 0\n")  # buffered C stdout
        print("python stdout")
        print("python stderr", file=sys.stderr)
    print("after")
    out, err = capfd.readouterr()
    text = log.read_text()
    for line in ("Summary on the non-converted ops", "fully_quantize: 0", "python stdout", "python stderr"):
        assert line in text and line not in out + err
    assert "after" in out


def test_descriptors_are_restored_when_the_block_raises(tmp_path, capfd):
    with pytest.raises(RuntimeError), output_to_log(tmp_path / "x.log"):
        raise RuntimeError("conversion failed")
    os.write(2, b"visible again\n")
    assert "visible again" in capfd.readouterr().err
