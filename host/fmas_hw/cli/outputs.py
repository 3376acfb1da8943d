"""Outputs of the commands: checked before the slow work, and one rule for OSError on them.

A command that writes a folder or a file checks, before it spends minutes (a forward pass over
the validation set, a training, a project build), that it can create and write there
(:func:`writable_dir`, :func:`writable_file`). What still fails later (a full disk, a folder
removed meanwhile) reaches the CLI boundary as an ``OSError``, which :func:`os_error_message`
turns into one ``error:`` line (:func:`fmas_hw.cli.main.main`).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from ..errors import OutputError

#: What to do, by the reason an output could not be written.
_ADVICE = {errno.ENOSPC: "free some space or write elsewhere", errno.EDQUOT: "free some space or write elsewhere",
           errno.EROFS: "write to a writable place", errno.EACCES: "write to a place you may write to",
           errno.EPERM: "write to a place you may write to"}


def writable_dir(path: str | Path, option: str) -> Path:
    """Create the folder ``path`` (and its parents) and prove it takes a file.

    Args:
        path: the output folder.
        option: the option that named it (for the message), e.g. ``"--out"``.

    Raises:
        OutputError: it cannot be created or written, with the reason and what to do.
    """
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write {option} {folder}: {_reason(exc)}; {_advice(exc)} "
                          f"(or choose another {option.split()[0]})") from None
    return folder


def writable_file(path: str | Path, option: str) -> Path:
    """Check that the file ``path`` can be written: its folder is created and takes a file.

    Raises:
        OutputError: see :func:`writable_dir`; also when ``path`` is a folder.
    """
    file = Path(path)
    if file.is_dir():
        raise OutputError(f"cannot write {option} {file}: it is a folder; give a file name")
    writable_dir(file.parent if str(file.parent) else Path("."), f"{option} {file}: its folder")
    return file


def os_error_message(exc: OSError) -> str:
    """The one-line message of an ``OSError`` that reached the CLI: what, where, what to do."""
    where = f" {exc.filename}" if exc.filename else ""
    return f"cannot write or read{where}: {_reason(exc)}; {_advice(exc)}"


def _reason(exc: OSError) -> str:
    return exc.strerror or (os.strerror(exc.errno) if exc.errno else str(exc))


def _advice(exc: OSError) -> str:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way of the folder"
    return _ADVICE.get(exc.errno or 0, "check the path")
