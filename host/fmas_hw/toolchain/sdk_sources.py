"""Find the GAP SDK's source tree: AutoTiler headers, SQ8 generators and kernels, NNTool, PMSIS.

Building and simulating a project needs the whole installed SDK (:mod:`fmas_hw.toolchain.sdk_env`).
Checking generated code against the SDK needs only its open sources, which exist in two places:

1. an SDK configured in this shell (the Docker image, or ``source configs/gapuino_v3.sh``): the
   SDK's own variables ``GAP_SDK_HOME`` and ``TILER_*`` say where each part is;
2. otherwise the unmodified extract of the pinned release that a checkout of this project may
   have beside it, ``../shared/third_party/gap_sdk-v<version>`` (the development machines and CI).

The version is pinned once, in ``hw/gap8.toml`` ``[sdk]``; ``Dockerfile.gapsdk`` builds the same
tag. Nothing here copies SDK code: callers compile against, run, or import these files.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..resources import hw_file

#: ``TILER_*`` variable -> its folder relative to ``$GAP_SDK_HOME/tools/autotiler_v3``, as the
#: SDK's ``configs/common.sh`` sets them (NNTool's code generation reads them).
TILER_FOLDERS: dict[str, str] = {
    "TILER_PATH": ".",
    "TILER_INC": "Autotiler",
    "TILER_EMU_INC": "Emulation",
    "TILER_GENERATOR_PATH": "Generators",
    "TILER_BILINEAR_RESIZE_GENERATOR_PATH": "Generators/BilinearResizes",
    "TILER_BILINEAR_RESIZE_KERNEL_PATH": "Generators/BilinearResizes",
    "TILER_CNN_KERNEL_PATH": "CNN_Libraries",
    "TILER_CNN_GENERATOR_PATH": "CNN_Generators",
    "TILER_CNN_KERNEL_PATH_SQ8": "CNN_Libraries_SQ8",
    "TILER_CNN_GENERATOR_PATH_SQ8": "CNN_Generators_SQ8",
    "TILER_CNN_KERNEL_PATH_NE16": "CNN_Libraries_NE16",
    "TILER_CNN_GENERATOR_PATH_NE16": "CNN_Generators_NE16",
    "TILER_CNN_KERNEL_PATH_FP16": "CNN_Libraries_fp16",
    "TILER_CNN_GENERATOR_PATH_FP16": "CNN_Generators_fp16",
    "TILER_DSP_GENERATOR_PATH": "DSP_Generators",
    "TILER_DSP_KERNEL_PATH": "DSP_Libraries",
}
AUTOTILER = Path("tools/autotiler_v3")
#: A file every usable tree has: the ``Infos`` layout of the SQ8 kernels.
PROBE = AUTOTILER / "CNN_Libraries_SQ8" / "CNN_Infos_SQ8.h"


@cache
def pinned_sdk() -> dict[str, str]:
    """``{"tag": "release-v4.22.0", "version": "4.22.0"}`` from ``hw/gap8.toml`` ``[sdk]``."""
    return dict(tomllib.loads(hw_file("gap8.toml").read_text())["sdk"])


@dataclass(frozen=True)
class SdkSources:
    """A GAP SDK source tree and where it was found.

    Attributes:
        root: the SDK's top folder (``GAP_SDK_HOME``).
        origin: how it was found, for messages (``"GAP_SDK_HOME"`` or the shared folder).
        tiler: ``TILER_*`` variable -> folder, the environment's values first.
    """

    root: Path
    origin: str
    tiler: Mapping[str, Path]

    def tiler_dir(self, variable: str) -> Path:
        """The folder of one ``TILER_*`` variable (e.g. ``TILER_CNN_KERNEL_PATH_SQ8``)."""
        return self.tiler[variable]

    @property
    def nntool(self) -> Path:
        """NNTool's source folder (put it on ``PYTHONPATH``; the entry point is ``scripts/nntool``)."""
        return self.root / "tools" / "nntool"

    @property
    def config_script(self) -> Path:
        """The GAPuino v3 environment script (the board the project targets by default)."""
        return self.root / "configs" / "gapuino_v3.sh"

    def environment(self) -> dict[str, str]:
        """``GAP_SDK_HOME`` and every ``TILER_*`` variable, as the SDK's config scripts set them."""
        return {"GAP_SDK_HOME": str(self.root), **{k: str(v) for k, v in self.tiler.items()}}


def _tiler_paths(root: Path, env: Mapping[str, str]) -> dict[str, Path]:
    base = Path(env["TILER_PATH"]) if env.get("TILER_PATH") else root / AUTOTILER
    return {name: Path(env[name]) if env.get(name) else (base / folder).resolve()
            for name, folder in TILER_FOLDERS.items()}


def shared_sources_dir(start: Path | None = None) -> Path:
    """Where the pinned release's extract lies beside a checkout: ``<checkout>/../shared/...``.

    Args:
        start: the checkout; default: the one this package was installed from (editable install).
    """
    checkout = start or Path(__file__).resolve().parents[3]
    return checkout.parent / "shared" / "third_party" / f"gap_sdk-v{pinned_sdk()['version']}"


def find_sdk_sources(env: Mapping[str, str] | None = None,
                     checkout: Path | None = None) -> SdkSources | None:
    """The SDK source tree: the configured SDK's when ``GAP_SDK_HOME`` is set, else the shared one.

    Args:
        env: environment to read (default ``os.environ``).
        checkout: the project checkout beside which ``shared/`` may lie (default: this one).

    Returns:
        The tree, or ``None`` when neither place holds one (check :data:`PROBE` exists there).
    """
    env = os.environ if env is None else env
    if env.get("GAP_SDK_HOME"):
        root, origin = Path(env["GAP_SDK_HOME"]).expanduser().resolve(), "GAP_SDK_HOME"
    else:
        root, env = shared_sources_dir(checkout).resolve(), {}  # TILER_* of another SDK do not apply
        origin = str(root)
    if not (root / PROBE).is_file():
        return None
    return SdkSources(root, origin, _tiler_paths(root, env))


def missing_sources_reason(env: Mapping[str, str] | None = None) -> str:
    """Why :func:`find_sdk_sources` found nothing, and how to get the sources (for skips/errors)."""
    env = os.environ if env is None else env
    where = (f"GAP_SDK_HOME={env['GAP_SDK_HOME']} has no {PROBE}" if env.get("GAP_SDK_HOME")
             else f"GAP_SDK_HOME is not set and {shared_sources_dir()} does not exist")
    return (f"GAP SDK sources not found ({where}): source the SDK's configs/gapuino_v3.sh, or put "
            f"the open sources of gap_sdk {pinned_sdk()['tag']} at {shared_sources_dir()}")
