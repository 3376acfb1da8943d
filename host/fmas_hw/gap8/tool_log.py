"""Send what a converter prints into a log file, so a successful export does not look like a failure.

The TFLite converter (MLIR, C++) and tf2onnx print pages of diagnostics ("Summary on the
non-converted ops", "fully_quantize: 0 ...") straight to the process's file descriptors 1 and 2,
past Python's ``sys.stdout``/``sys.stderr``. Redirecting only the Python streams would not catch
them, so :func:`output_to_log` points the descriptors themselves at the log file for the duration,
and the Python streams (and their replacements, e.g. a test's capture) too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def output_to_log(path: str | Path) -> Iterator[Path]:
    """Append everything written to stdout and stderr inside the block to ``path``.

    Both the OS-level descriptors 1 and 2 (C++ libraries) and the Python streams are redirected;
    all are restored when the block ends, also when it raises.

    Args:
        path: the log file (parent folders are created; appended to).

    Yields:
        The log file's path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(fd) for fd in (1, 2)]
    try:
        with open(path, "a", encoding="utf-8") as log:
            for fd in (1, 2):
                os.dup2(log.fileno(), fd)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield path
            _flush_c_streams()
            log.flush()
    finally:
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


def _flush_c_streams() -> None:
    """Flush the C library's buffered ``stdout`` (printf) so nothing leaks out after the block."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # no C library to reach (not on Linux/macOS): nothing to flush
        pass
