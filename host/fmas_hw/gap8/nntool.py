"""Run the GAP SDK's NNTool on a project's int8 TFLite: its state, then its AutoTiler model.

A generated project's Makefile runs the same two commands (``templates/common/model_rules.mk.j2``,
``ROUTE=nntool``) inside an installed SDK. This module needs only the SDK's open sources
(:mod:`fmas_hw.toolchain.sdk_sources`: NNTool runs from ``tools/nntool`` on ``PYTHONPATH``, its
code generation reads the ``TILER_*`` variables) and a Python 3.8 environment with NNTool's
packages (``make nntool-env`` builds ``.venv-nntool`` from ``tools/nntool-requirements.txt``):
the tests compare NNTool's model with the project's own, and a user can get NNTool's model
without the full SDK.

1. ``nntool -s model/nntool_script <prefix>.tflite -q`` (``-q``: the TFLite is already int8)
   writes the state ``<prefix>.json`` next to the TFLite copy;
2. ``nntool -g -M <dir> -m <prefix>Model.c -T <dir>/tensors -H <prefix>Info.h <prefix>.json``
   writes the model source, its header and the constants.

Both run in a build folder of their own: NNTool expands ``$(VAR)`` in its arguments through
``make -pn`` run in the working directory, so a project folder's Makefile must not be there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExportError
from ..toolchain.sdk_sources import SdkSources, find_sdk_sources, missing_sources_reason

#: Where ``make nntool-env`` builds NNTool's environment, relative to the checkout.
NNTOOL_VENV = ".venv-nntool"
#: Seconds each NNTool command may take (the 64 px test networks take ~5 s).
DEFAULT_TIMEOUT = 600
#: Lines of a failing command's log quoted in the error.
LOG_TAIL = 20
#: How NNTool's shell reports a failed command (its exit code stays 0).
EXCEPTION = "EXCEPTION of type"


@dataclass(frozen=True)
class NntoolResult:
    """What one NNTool run produced.

    Attributes:
        build_dir: the folder NNTool ran in (the TFLite copy, the state, the logs).
        state: NNTool's graph state (``<prefix>.json``).
        model_c: NNTool's AutoTiler model source (``<prefix>Model.c``).
        tensors: the folder of its constant tensors.
        log: the log of both commands (``nntool.log``): NNTool's warnings are there.
    """

    build_dir: Path
    state: Path
    model_c: Path
    tensors: Path
    log: Path

    def warnings(self) -> list[str]:
        """The log lines NNTool flagged (``WARNING`` level and the generator's own warnings)."""
        return [line for line in self.log.read_text().splitlines()
                if "warning" in line.lower() or "could not work" in line]


def default_python() -> Path:
    """The Python of ``.venv-nntool`` in the checkout this package runs from (editable install)."""
    return Path(__file__).resolve().parents[3] / NNTOOL_VENV / "bin" / "python"


def missing_environment(python: Path | None = None, sources: SdkSources | None = None) -> str | None:
    """Why NNTool cannot run here (with what to do), or ``None`` when it can."""
    python = python or default_python()
    sources = sources or find_sdk_sources()
    if sources is None:
        return missing_sources_reason()
    if not (sources.nntool / "scripts" / "nntool").is_file():
        return f"the GAP SDK sources at {sources.root} have no tools/nntool/scripts/nntool"
    if not python.is_file():
        return (f"NNTool's Python environment {python} does not exist: run `make nntool-env` "
                "(Python 3.8 with tools/nntool-requirements.txt)")
    return None


def _environment(sources: SdkSources) -> dict[str, str]:
    env = {**os.environ, **sources.environment(), "PYTHONPATH": str(sources.nntool)}
    env.pop("MAKEFLAGS", None)  # NNTool's `make -pn` must not inherit a calling make's jobs
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float) -> str:
    """Run one NNTool command, appending its output to ``log``; returns that output.

    Raises:
        ExportError: the command failed, reported an exception or timed out (the command, exit
            code and the tail of its output).
    """
    with log.open("a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        start = out.tell()
        try:
            code = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            code = None
    with log.open() as done:
        done.seek(start)
        output = done.read()
    # NNTool's shell reports a failing script command and carries on: it exits 0 all the same.
    if code != 0 or EXCEPTION in output:
        tail = "\n".join(output.splitlines()[-LOG_TAIL:])
        errors = [line for line in output.splitlines() if EXCEPTION in line][:3]
        status = (f"timed out after {timeout:g} s" if code is None else
                  f"exited with code {code}" if code else
                  "exited 0 but reported: " + " | ".join(errors))
        raise ExportError(f"NNTool {status}: {' '.join(command)} (in {cwd}; full log {log}):\n{tail}")
    return output


def _prepare(model: Path, script: Path, build: Path, python: Path | None,
             sources: SdkSources | None) -> tuple[list[str], dict[str, str]]:
    """Check the inputs and the environment, copy ``model`` into ``build``; NNTool's argv and env.

    Raises:
        ExportError: what is missing and what to do.
    """
    python = python or default_python()
    sources = sources or find_sdk_sources()
    reason = missing_environment(python, sources)
    if reason or sources is None:
        raise ExportError(f"cannot run NNTool: {reason}")
    for path, what in ((model, "model file"), (script, "NNTool script")):
        if not path.is_file():
            raise ExportError(f"no {what} at {path}: write the project with representative images")
    build.mkdir(parents=True, exist_ok=True)
    if (build / "Makefile").exists():
        raise ExportError(f"{build} holds a Makefile, which NNTool's `make -pn` would read: use a "
                          "build folder of its own")
    shutil.copyfile(model, build / model.name)
    return [str(python), str(sources.nntool / "scripts" / "nntool")], _environment(sources)


def run_script(model: str | Path, script: str | Path, build_dir: str | Path, *args: str,
               python: Path | None = None, sources: SdkSources | None = None,
               timeout: float = DEFAULT_TIMEOUT) -> str:
    """Open a model file (TFLite or ONNX) in NNTool and run a script on it; returns NNTool's output.

    Args:
        model: the model file; copied into ``build_dir`` (NNTool names its state after it).
        script: the NNTool script.
        build_dir: where NNTool runs (created; must not hold a Makefile); ``nntool.log`` there.
        args: more NNTool options (``-q``: the TFLite is already quantised).
        python, sources, timeout: as for :func:`run_nntool`.

    Raises:
        ExportError: as for :func:`run_nntool`.
    """
    model, build = Path(model), Path(build_dir)
    nntool, env = _prepare(model, Path(script).resolve(), build, python, sources)
    log = build / "nntool.log"
    log.write_text("")
    return _run(nntool + ["-s", str(Path(script).resolve()), model.name, *args], build, env, log,
                timeout)


def run_nntool(tflite: str | Path, script: str | Path, build_dir: str | Path, *,
               prefix: str = "fmas", python: Path | None = None,
               sources: SdkSources | None = None, timeout: float = DEFAULT_TIMEOUT) -> NntoolResult:
    """Run NNTool's script on an int8 TFLite and generate NNTool's AutoTiler model.

    Args:
        tflite: the int8 TFLite (a project's ``model/<prefix>.tflite``).
        script: the NNTool script (a project's ``model/nntool_script``; it ends in
            ``save_state``, which writes ``<tflite stem>.json``).
        build_dir: where NNTool runs and writes (created; must not hold a Makefile).
        prefix: model prefix (``<prefix>Model.c``, ``<prefix>Info.h``).
        python: NNTool's Python (default: ``.venv-nntool`` of this checkout).
        sources: the SDK sources (default: :func:`~fmas_hw.toolchain.sdk_sources.find_sdk_sources`).
        timeout: seconds per NNTool command.

    Returns:
        The files NNTool wrote.

    Raises:
        ExportError: missing inputs or environment (saying what to do), or a failing NNTool
            command (the command, its exit code and the log's tail).
    """
    tflite, build = Path(tflite), Path(build_dir)
    run_script(tflite, script, build, "-q", python=python, sources=sources, timeout=timeout)
    state = build / f"{tflite.stem}.json"
    if not state.is_file():
        raise ExportError(f"NNTool wrote no state {state}: does {script} end in save_state?")
    nntool, env = _prepare(tflite, Path(script).resolve(), build, python, sources)
    log = build / "nntool.log"
    _run(nntool + ["-g", "-M", ".", "-m", f"{prefix}Model.c", "-T", "tensors",
                   "-H", f"{prefix}Info.h", state.name], build, env, log, timeout)
    result = NntoolResult(build, state, build / f"{prefix}Model.c", build / "tensors", log)
    if not result.model_c.is_file():
        raise ExportError(f"NNTool exited 0 but wrote no {result.model_c}: see {log}")
    return result
