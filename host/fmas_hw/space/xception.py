"""The 22-bit DeepLabV3+ / Modified Xception search space (SPEC §2.1).

Layout, most significant bit first: entry-flow stride (2 bits, index into 1..4), middle-flow
atrous rate (2 bits, index into 1..4), exit-flow rates (1 bit), ASPP rates (1 bit), then one bit
per middle-flow block b1..b16 (1 = kept). Supernet: ``0100001111111111111111``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from ..errors import ArchitectureError
from .base import Arch, SearchSpace
from .genome import BitsLike, bits_to_index, format_genome, index_to_bits

ENTRY_STRIDES = (1, 2, 3, 4)
MIDDLE_RATES = (1, 2, 3, 4)
EXIT_RATES = ((1, 2), (2, 4))
ASPP_RATES = ((6, 12, 18), (12, 24, 36))
N_MIDDLE_BLOCKS = 16


@dataclass(frozen=True)
class XceptionArch(Arch):
    """A DeepLabV3+ / Modified Xception candidate.

    Attributes:
        entry_stride: stride of the last entry-flow block.
        middle_rate: atrous rate of every kept middle-flow block (1 when none is kept).
        exit_rates: atrous rates of the two exit-flow blocks.
        aspp_rates: atrous rates of the three separable ASPP branches.
        middle_blocks: the kept middle-flow blocks (1-based, ascending).
    """

    backbone: ClassVar[str] = "xception"
    entry_stride: int = 2
    middle_rate: int = 1
    exit_rates: tuple[int, int] = (1, 2)
    aspp_rates: tuple[int, int, int] = (6, 12, 18)
    middle_blocks: tuple[int, ...] = tuple(range(1, N_MIDDLE_BLOCKS + 1))

    def __post_init__(self) -> None:
        if self.entry_stride not in ENTRY_STRIDES:
            raise ArchitectureError(f"entry_stride must be one of {ENTRY_STRIDES}, got {self.entry_stride}")
        if self.middle_rate not in MIDDLE_RATES:
            raise ArchitectureError(f"middle_rate must be one of {MIDDLE_RATES}, got {self.middle_rate}")
        if tuple(self.exit_rates) not in EXIT_RATES:
            raise ArchitectureError(f"exit_rates must be one of {EXIT_RATES}, got {self.exit_rates}")
        if tuple(self.aspp_rates) not in ASPP_RATES:
            raise ArchitectureError(f"aspp_rates must be one of {ASPP_RATES}, got {self.aspp_rates}")
        blocks = tuple(self.middle_blocks)
        if list(blocks) != sorted(set(blocks)) or any(not 1 <= b <= N_MIDDLE_BLOCKS for b in blocks):
            raise ArchitectureError(f"middle_blocks must be ascending, distinct, within 1..16; got {blocks}")
        # Canonical form: without middle blocks their rate changes nothing.
        object.__setattr__(self, "middle_rate", self.middle_rate if blocks else 1)
        object.__setattr__(self, "exit_rates", tuple(self.exit_rates))
        object.__setattr__(self, "aspp_rates", tuple(self.aspp_rates))
        object.__setattr__(self, "middle_blocks", blocks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry_stride": self.entry_stride,
            "middle_rate": self.middle_rate,
            "exit_rates": list(self.exit_rates),
            "aspp_rates": list(self.aspp_rates),
            "middle_blocks": list(self.middle_blocks),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> XceptionArch:
        return cls(
            entry_stride=int(data["entry_stride"]),
            middle_rate=int(data["middle_rate"]),
            exit_rates=tuple(data["exit_rates"]),
            aspp_rates=tuple(data["aspp_rates"]),
            middle_blocks=tuple(int(b) for b in data["middle_blocks"]),
        )


class XceptionSpace(SearchSpace):
    """Genome <-> :class:`XceptionArch` (22 bits)."""

    name: ClassVar[str] = "xception"
    n_bits: ClassVar[int] = 22
    supernet_genome: ClassVar[str] = "0100001111111111111111"
    default_input_size: ClassVar[int] = 513
    default_generations: ClassVar[int] = 20

    def decode(self, genome: BitsLike) -> XceptionArch:
        b = self.parse(genome)
        return XceptionArch(
            entry_stride=ENTRY_STRIDES[bits_to_index(b[0:2])],
            middle_rate=MIDDLE_RATES[bits_to_index(b[2:4])],
            exit_rates=EXIT_RATES[int(b[4])],
            aspp_rates=ASPP_RATES[int(b[5])],
            middle_blocks=tuple(i + 1 for i in range(N_MIDDLE_BLOCKS) if b[6 + i]),
        )

    def encode(self, arch: Arch) -> str:
        if not isinstance(arch, XceptionArch):
            raise ArchitectureError(f"expected an XceptionArch, got {type(arch).__name__}")
        bits = (
            index_to_bits(ENTRY_STRIDES.index(arch.entry_stride), 2)
            + index_to_bits(MIDDLE_RATES.index(arch.middle_rate), 2)
            + [bool(EXIT_RATES.index(arch.exit_rates))]
            + [bool(ASPP_RATES.index(arch.aspp_rates))]
            + [i + 1 in arch.middle_blocks for i in range(N_MIDDLE_BLOCKS)]
        )
        return format_genome(bits)

    def genes(self, arch: Arch) -> dict[str, Any]:
        assert isinstance(arch, XceptionArch)
        return {
            "entry_stride": arch.entry_stride,
            "middle_rate": arch.middle_rate,
            "exit_rates": list(arch.exit_rates),
            "aspp_rates": list(arch.aspp_rates),
            "middle_blocks": list(arch.middle_blocks),
            "middle_blocks_dropped": [b for b in range(1, N_MIDDLE_BLOCKS + 1) if b not in arch.middle_blocks],
        }
