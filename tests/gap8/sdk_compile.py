"""Compile generated C against the real GAP SDK headers: the one place tests do it.

Two compilations, each with the include folders and defines the SDK's own build uses:

- an AutoTiler model (``<prefix>Model.c``, ours or NNTool's) with the host ``gcc``, as GenTile is
  built: ``-I$(TILER_INC) -I$(TILER_EMU_INC) $(CNN_GEN_INCLUDE) $(CNN_LIB_INCLUDE)``
  (``common/model_rules.mk``), the folders NNTool's own ``compile`` command adds
  (``tools/nntool/nntool/interpreter/commands/compile_at_model.py``) plus the resize generator's;
- the firmware with Debian's ``riscv64-unknown-elf-gcc`` for GAP8 on pulp-os, as the SDK compiles
  its GAP8 BSP (``rtos/pmsis/bsp/rules/gap_sdk.mk``: ``-D__riscv__ -D__PULP_OS__ -DCHIP_VERSION``,
  ``-DCONFIG_GAPUINO``, ``-include rt/chips/<TARGET_NAME>/config.h``; the installed include tree
  is pulp-os's, archi's, hal's, PMSIS API's and BSP's ``include`` folders). Debian's compiler has
  no Xpulp extensions, hence ``-march=rv32imac_zicsr`` and an object that is never linked.

SDK folders are passed with ``-isystem`` so that only warnings in project code count (``-Werror``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from fmas_hw.toolchain.sdk_sources import SdkSources

#: ``TILER_*`` folders of an SQ8 model generator (generators, basic kernels, resize, copy).
MODEL_TILER_DIRS = ("TILER_INC", "TILER_EMU_INC", "TILER_CNN_GENERATOR_PATH",
                    "TILER_CNN_GENERATOR_PATH_SQ8", "TILER_BILINEAR_RESIZE_GENERATOR_PATH",
                    "TILER_CNN_KERNEL_PATH", "TILER_CNN_KERNEL_PATH_SQ8",
                    "TILER_CNN_KERNEL_PATH_FP16", "TILER_BILINEAR_RESIZE_KERNEL_PATH")
#: ``TILER_*`` folders the firmware sees: ``Gap.h`` and the basic kernels that ``<prefix>Kernels.h``
#: includes (the project Makefile's ``-I$(TILER_EMU_INC) -I$(TILER_INC) $(CNN_LIB_INCLUDE)``).
FIRMWARE_TILER_DIRS = ("TILER_EMU_INC", "TILER_INC", "TILER_CNN_KERNEL_PATH",
                       "TILER_CNN_KERNEL_PATH_SQ8", "TILER_CNN_KERNEL_PATH_FP16",
                       "TILER_BILINEAR_RESIZE_KERNEL_PATH")
#: The installed pulp-os include tree of a GAP8 SDK build, relative to ``GAP_SDK_HOME``.
PULPOS_INCLUDE_DIRS = ("gap8/rtos/pulp/pulp-os/include", "gap8/rtos/pulp/pulp-os/include/io",
                       "gap8/rtos/pulp/archi_pulp/include", "gap8/rtos/pulp/hal_pulp/include",
                       "rtos/pmsis/api/include", "rtos/pmsis/bsp/include")
#: GAPuino v3 (``configs/gapuino_v3.sh``): TARGET_NAME gap8_revc, chip version 3.
GAP8_TARGET = {"name": "gap8_revc", "chip_version": "3", "board": "CONFIG_GAPUINO"}
RISCV_GCC = "riscv64-unknown-elf-gcc"
#: Debian's picolibc gives the cross compiler its C library headers (stdint.h, stdio.h...).
RISCV_LIBC = ("--specs=picolibc.specs",)
RISCV_INSTALL = "apt-get install -y gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"
#: Warnings that are errors in project code. -Wno-unused-function: PMSIS declares static inline
#: functions it never defines, which gcc reports at the end of every unit (the SDK's own builds
#: pass -Wno-unused-function for the same reason).
WARNINGS = ("-Wall", "-Wextra", "-Wundef", "-Wformat=2", "-Werror", "-Wno-unused-function")


def _isystem(dirs: Sequence[Path]) -> list[str]:
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        pytest.fail(f"SDK include folders missing: {missing} (incomplete SDK tree?)")
    return [arg for d in dirs for arg in ("-isystem", str(d))]


def model_flags(sdk: SdkSources) -> list[str]:
    """Include flags of an AutoTiler model generator (``<prefix>Model.c``)."""
    return _isystem([sdk.tiler_dir(v) for v in MODEL_TILER_DIRS])


def firmware_flags(sdk: SdkSources) -> list[str]:
    """Defines and include flags of a GAP8 pulp-os application (after the target ``-march``)."""
    config = f"rt/chips/{GAP8_TARGET['name']}/config.h"
    return ["-D__riscv__", "-D__PULP_OS__", f"-DCHIP_VERSION={GAP8_TARGET['chip_version']}",
            f"-D{GAP8_TARGET['board']}",
            *_isystem([sdk.root / d for d in PULPOS_INCLUDE_DIRS]),
            *_isystem([sdk.tiler_dir(v) for v in FIRMWARE_TILER_DIRS]), "-include", config]


def _run(cmd: list[str]) -> None:
    # LC_ALL=C: plain quotes in gcc's messages, which tests match
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180,
                          env={**os.environ, "LC_ALL": "C"})
    assert done.returncode == 0, f"{' '.join(cmd)}\n{done.stderr}"


def check_model_source(source: Path, sdk: SdkSources, *extra: str) -> None:
    """``gcc -fsyntax-only -Wall -Werror`` of an AutoTiler model against the real headers."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc not found: cannot syntax-check the AutoTiler model against the SDK headers")
    _run([gcc, "-std=gnu99", "-fsyntax-only", *WARNINGS, *extra, *model_flags(sdk), str(source)])


def _has_libc(gcc: str) -> bool:
    # gcc prints the bare name back when no specs file of that name is installed
    found = subprocess.run([gcc, "-print-file-name=picolibc.specs"], capture_output=True,
                           text=True, timeout=60).stdout.strip()
    return Path(found).is_absolute()


def riscv_gcc() -> str:
    """The cross compiler; skips outside CI (fails under CI) when it or its libc is missing."""
    found = shutil.which(RISCV_GCC)
    if found is None or not _has_libc(found):
        missing = RISCV_GCC if found is None else "picolibc for " + RISCV_GCC
        reason = (f"{missing} not found: cannot compile the firmware for GAP8 "
                  f"(install it with: {RISCV_INSTALL})")
        if os.environ.get("CI"):
            pytest.fail(reason + " (.ci/run installs it)")
        pytest.skip(reason)
    return found


def compile_firmware(source: Path, sdk: SdkSources, include_dirs: Sequence[Path], out: Path,
                     *defines: str) -> dict[str, str]:
    """Cross-compile one firmware source for GAP8 against the real PMSIS headers, to an object.

    The object is never linked (Debian's compiler leaves the Xpulp builtins of the SDK's inline
    functions as undefined calls); its symbol table tells what the application defines and needs.

    Args:
        source: the C file (``main.c``).
        include_dirs: project folders (``-I``; their warnings count).
        out: the object file to write.
        defines: extra ``-D`` flags, as the project Makefile would pass them.

    Returns:
        ``{symbol: nm type}`` of the object (``B``/``D``: defined data, ``T``: code, ``U``: needed).
    """
    gcc = riscv_gcc()
    _run([gcc, "-march=rv32imac_zicsr", "-mabi=ilp32", *RISCV_LIBC, "-std=gnu99", "-Os", "-c",
          *WARNINGS, *[f"-I{d}" for d in include_dirs], *defines, *firmware_flags(sdk),
          "-o", str(out), str(source)])
    nm = subprocess.run([gcc.replace("-gcc", "-nm"), str(out)], capture_output=True, text=True,
                        check=True, timeout=60).stdout
    return {fields[-1]: fields[-2] for fields in map(str.split, nm.splitlines()) if len(fields) >= 2}


def write_kernels_standin(model_c: Path, folder: Path) -> Path:
    """Write the ``<prefix>Kernels.h`` that GenTile would write for ``model_c``, for compile tests.

    GenTile (``LibTile.a``, not public) writes this header; the SDK holds none. The stand-in has
    what a generated one has at the application's interface, in its form (seen in the headers of
    GreenWaves' examples and NNTool projects: ``#include "AutoTilerLibTypes.h"``, then every used
    file of ``SetUsedFilesNames``; ``extern char *<prefix>_L1_Memory``/``_L2_Memory``/
    ``_L2_Memory_Dyn``; ``extern int <prefix>CNN_Construct()``/``_Destruct()``;
    ``extern int <prefix>CNN(<graph arguments>)``; ``extern unsigned int AT_GraphPerf[n]``,
    ``extern char * AT_GraphNodeNames[n]``, ``extern unsigned int AT_GraphOperInfosNames[n]``; and
    NNTool's ``default_appl_main_template.py`` is the application side that uses them). The
    HyperRAM device is never in it: graph-managed, it is ``static AT_HYPERRAM_T HyperRam`` in
    ``<prefix>Kernels.c``; externally managed, the kernels declare it ``extern`` and the
    application defines it. The kernel prototypes are left out (the application calls none).

    Args:
        model_c: the rendered AutoTiler model (names, graph arguments, node count come from it).
        folder: where to write the header.
    """
    text = model_c.read_text()
    prefix = re.search(r'SetGeneratedFilesNames\("(\w+)Kernels\.c"', text)
    used = re.search(r"SetUsedFilesNames\(0, \d+((?:, \"[^\"]+\")*)\);", text)
    assert prefix and used, f"{model_c}: no SetGeneratedFilesNames/SetUsedFilesNames call"
    name = prefix[1]
    args = re.findall(r'TCArgInfo\("([^"]+)", "(\w+)", ARG_SCOPE_ARG,', text)
    nodes = len(re.findall(r"AddNode\(", text))
    assert args and nodes, f"{model_c}: no graph arguments or nodes"
    includes = ["AutoTilerLibTypes.h", *re.findall(r'"([^"]+)"', used[1])]
    lines = [f"#ifndef __{name.upper()}KERNEL_H__", f"#define __{name.upper()}KERNEL_H__", "",
             *[f'#include "{f}"' for f in includes], "",
             *[f"extern char *{name}_{mem};" for mem in ("L1_Memory", "L2_Memory", "L2_Memory_Dyn")],
             f"extern int {name}CNN_Construct();", f"extern int {name}CNN_Destruct();",
             f"extern int {name}CNN(\n" + ",\n".join(f"\t\t{ctype} {arg}" for ctype, arg in args)
             + ");",
             f"extern unsigned int AT_GraphPerf[{nodes}];",
             f"extern char * AT_GraphNodeNames[{nodes}];",
             f"extern unsigned int AT_GraphOperInfosNames[{nodes}];", "#endif", ""]
    path = folder / f"{name}Kernels.h"
    path.write_text("\n".join(lines))
    return path
