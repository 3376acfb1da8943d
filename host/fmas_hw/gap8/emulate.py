"""Run an open-route project on the host: its generated network, the SDK's SQ8 kernels, x86.

The project's ``model/<prefix>Kernels.c``, ``fmas_resize.c`` and ``fmas_emul.c`` are compiled with
the machine's gcc under ``-D__EMUL__`` against the SDK's open sources (``at_api_emul.h`` maps the
AutoTiler runtime API to plain C; the SQ8 basic kernels are compiled once per SDK tree and kept in
a cache), then run on ``model/input.bin``. Emulation proves the arithmetic (the output is compared
with ``model/expected.json``), the tiling (every tile, halo and border through the real kernels)
and the budgets (every transfer checked against the L1/L2/L3 arenas, sized at the budgets the
plan was made for); it says nothing about the 8-core split, DMA timing or cycles.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ExportError, SdkMissingError
from ..resources import firmware_dir

#: The SQ8 basic-kernel sources the generated networks call (``TILER_CNN_KERNEL_PATH_SQ8``).
KERNEL_SOURCES = ("CNN_Conv_SQ8.c", "CNN_Conv_DW_Red_SQ8.c", "CNN_Bias_Linear_SQ8.c",
                  "CNN_Activation_SQ8.c", "CNN_Pooling_SQ8.c", "CNN_MatAlgebra_SQ8.c")
INCLUDE_VARS = ("TILER_EMU_INC", "TILER_INC", "TILER_CNN_KERNEL_PATH_SQ8", "TILER_CNN_KERNEL_PATH",
                "TILER_CNN_KERNEL_PATH_FP16")
EMUL_DIR = "build-emul"
_EMUL_LINE = re.compile(r"^FMAS:EMUL idx=(\d+) name=(\S+) l1=(\d+) dma_in=(\d+) dma_out=(\d+)$")
_CHECKSUM = re.compile(r"^FMAS:CHECKSUM value=([0-9a-f]{8})$", re.M)
_END = re.compile(r"^FMAS:END status=(-?\d+) layers=(\d+)$", re.M)


@dataclass
class EmulationResult:
    """One emulated inference.

    Attributes:
        checksum: FNV-1a 32 of the int8 output, as the firmware prints it.
        expected: the checksum ``model/expected.json`` holds (the host int8 reference).
        output: the int8 CHW output.
        layers: per kernel ``{"name", "l1", "dma_in", "dma_out"}`` as the run counted them.
        log: the run's standard output.
    """

    checksum: str
    expected: str
    output: np.ndarray
    layers: list[dict] = field(default_factory=list)
    log: str = ""

    @property
    def matches(self) -> bool:
        return self.checksum == self.expected


def _gcc() -> str:
    gcc = shutil.which(os.environ.get("CC", "gcc"))
    if gcc is None:
        raise SdkMissingError("no C compiler found (gcc): the emulation compiles the generated network "
                              "for this machine; install gcc (apt-get install gcc)")
    return gcc


def _sdk():
    from ..toolchain.sdk_sources import find_sdk_sources, missing_sources_reason

    sdk = find_sdk_sources()
    if sdk is None:
        raise SdkMissingError(missing_sources_reason())
    return sdk


def _includes(sdk) -> list[str]:
    return [f"-I{sdk.tiler_dir(v)}" for v in INCLUDE_VARS]


def _run(cmd: list[str], cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LC_ALL": "C"})


def kernel_objects(cache: Path | None = None, sanitize: bool = False) -> list[Path]:
    """The SQ8 basic kernels compiled for the host, once per SDK tree and flags (cached).

    Raises:
        SdkMissingError: no gcc, or no SDK sources.
        ExportError: the SDK's kernels do not compile.
    """
    sdk, gcc = _sdk(), _gcc()
    flags = ["-O2", "-w", "-fcommon", "-D__EMUL__", *(["-fsanitize=address"] if sanitize else [])]
    key = hashlib.sha256(f"{sdk.root}|{gcc}|{flags}".encode()).hexdigest()[:12]
    folder = (cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fmas-hw") / f"sq8-{key}"
    folder.mkdir(parents=True, exist_ok=True)
    objects = []
    for name in KERNEL_SOURCES:
        obj = folder / f"{name}.o"
        if not obj.exists():
            tmp = obj.with_suffix(f".{os.getpid()}.tmp")
            done = _run([gcc, *flags, *_includes(sdk), "-c", str(sdk.tiler_dir("TILER_CNN_KERNEL_PATH_SQ8") / name),
                         "-o", str(tmp)])
            if done.returncode:
                raise ExportError(f"the SDK kernel {name} does not compile for the host:\n{done.stderr[-2000:]}")
            tmp.replace(obj)
        objects.append(obj)
    return objects


def build(project: Path, sanitize: bool = False) -> Path:
    """Compile the project's emulation binary (``build-emul/fmas_emul``).

    Raises:
        ExportError: the project has no open-route network, or it does not compile.
        SdkMissingError: no gcc or no SDK sources.
    """
    project = Path(project)
    candidate = json.loads((project / "candidate.json").read_text())
    prefix = candidate.get("prefix", "fmas")
    kernels = project / "model" / f"{prefix}Kernels.c"
    if not kernels.is_file():
        raise ExportError(f"{project} has no open-route network ({kernels.relative_to(project)}): "
                          "re-export it with `fmas-hw export` (route open)")
    out = project / EMUL_DIR
    out.mkdir(exist_ok=True)
    exe = out / "fmas_emul"
    ours = ["-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", "-fcommon",
            "-D__EMUL__", *(["-fsanitize=address", "-fno-omit-frame-pointer"] if sanitize else []),
            f"-I{project}", f"-I{project / 'model'}",
            *[f"-isystem{flag[2:]}" for flag in _includes(_sdk())]]
    sources = [kernels, project / "fmas_resize.c", project / "fmas_emul.c"]
    done = _run([_gcc(), *ours, *map(str, sources), *map(str, kernel_objects(sanitize=sanitize)),
                 "-lm", "-o", str(exe)])
    if done.returncode:
        raise ExportError(f"the emulation of {project} does not compile:\n{done.stderr[-4000:]}")
    return exe


def run(project: Path, exe: Path | None = None, timeout: float = 900) -> EmulationResult:
    """Run the emulation on ``model/input.bin`` and read back what it printed and wrote.

    Raises:
        ExportError: the run failed (a budget overflow names the layer), or printed no checksum.
    """
    project = Path(project)
    exe = exe or build(project)
    output = project / EMUL_DIR / "output.bin"
    done = _run([str(exe.resolve()), str((project / "model" / "input.bin").resolve()), str(output.resolve())],
                cwd=project / "model", timeout=timeout)
    end = _END.search(done.stdout)
    checksum = _CHECKSUM.search(done.stdout)
    if done.returncode or end is None or int(end[1]) or checksum is None:
        raise ExportError(f"the emulation of {project} failed (exit {done.returncode}): "
                          f"{(done.stderr or done.stdout)[-3000:].strip()}")
    expected = json.loads((project / "model" / "expected.json").read_text())
    layers = [{"name": m[2], "l1": int(m[3]), "dma_in": int(m[4]), "dma_out": int(m[5])}
              for m in (_EMUL_LINE.match(line) for line in done.stdout.splitlines()) if m]
    return EmulationResult(checksum[1], f"{expected['output_checksum']:08x}"
                           if isinstance(expected["output_checksum"], int) else str(expected["output_checksum"]),
                           np.fromfile(output, np.int8), layers, done.stdout)


def copy_runtime(project: Path) -> None:
    """Copy the open route's hand-written runtime (``fmas_tiles.h``, the resize kernel, the
    emulation main) into a project."""
    for name in ("fmas_tiles.h", "fmas_resize.h", "fmas_resize.c", "fmas_emul.c"):
        shutil.copyfile(firmware_dir() / name, Path(project) / name)
