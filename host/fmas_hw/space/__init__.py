"""Search spaces: genome bit strings <-> architecture configs (SPEC §2).

:data:`SPACES` is the one list of backbones: every choice of backbone (the CLI's ``--backbone``,
the search config) and every per-backbone default (input size, generations) is read from it.
"""

from __future__ import annotations

from ..errors import ConfigError
from .base import Arch, SearchSpace
from .genome import format_genome, parse_genome
from .mobilenetv2 import MobileNetV2Arch, MobileNetV2Space
from .xception import XceptionArch, XceptionSpace

SPACES: dict[str, type[SearchSpace]] = {cls.name: cls for cls in (XceptionSpace, MobileNetV2Space)}
ARCHS: dict[str, type[Arch]] = {cls.backbone: cls for cls in (XceptionArch, MobileNetV2Arch)}


def get_space(backbone: str) -> SearchSpace:
    """Return the search space of ``backbone`` ('xception' or 'mobilenetv2').

    Raises:
        ConfigError: unknown backbone.
    """
    try:
        return SPACES[backbone]()
    except KeyError:
        raise ConfigError(f"unknown backbone {backbone!r}: expected one of {sorted(SPACES)}") from None


def arch_from_dict(backbone: str, data: dict) -> Arch:
    """Rebuild an architecture from its :meth:`Arch.to_dict` form."""
    get_space(backbone)
    return ARCHS[backbone].from_dict(data)


__all__ = [
    "Arch", "SearchSpace", "XceptionArch", "XceptionSpace", "MobileNetV2Arch", "MobileNetV2Space",
    "get_space", "arch_from_dict", "parse_genome", "format_genome",
]
