"""The search-space interface shared by the Xception and MobileNetV2 spaces."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from .genome import BitsLike, format_genome, parse_genome


class Arch(ABC):
    """A decoded, canonical architecture: what the model builder builds.

    Subclasses are frozen dataclasses. Two genomes that decode to the same network decode to
    equal ``Arch`` objects and therefore share :attr:`key`.
    """

    backbone: ClassVar[str]

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable form (round-trips through :meth:`from_dict`)."""

    @classmethod
    @abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Arch:
        """Inverse of :meth:`to_dict`."""

    @property
    def key(self) -> str:
        """Stable cache key of the architecture: ``<backbone>-<16 hex digits>``."""
        blob = json.dumps({"backbone": self.backbone, **self.to_dict()}, sort_keys=True)
        return f"{self.backbone}-{hashlib.sha1(blob.encode()).hexdigest()[:16]}"


class SearchSpace(ABC):
    """Genome <-> architecture mapping of one backbone (SPEC §2).

    Attributes:
        name: the backbone's name (the key of :data:`fmas_hw.space.SPACES`).
        n_bits: genome length.
        supernet_genome: the genome of the whole supernet.
        default_input_size: the paper's input size for this backbone (SPEC §3).
        default_generations: the paper's NSGA-II generations G for this backbone (SPEC §5).
    """

    name: ClassVar[str]
    n_bits: ClassVar[int]
    supernet_genome: ClassVar[str]
    default_input_size: ClassVar[int]
    default_generations: ClassVar[int]

    @abstractmethod
    def decode(self, genome: BitsLike) -> Arch:
        """Decode any bit string of the right length into a legal architecture.

        Raises:
            GenomeError: wrong length or characters.
        """

    @abstractmethod
    def encode(self, arch: Arch) -> str:
        """The canonical genome of ``arch`` (``decode(encode(a)) == a``)."""

    @abstractmethod
    def genes(self, arch: Arch) -> dict[str, Any]:
        """Human-readable genes of ``arch`` (the columns of the paper's tables)."""

    def repair(self, bits: np.ndarray) -> np.ndarray:
        """Make ``bits`` satisfy the space's structural rules (identity by default)."""
        return np.asarray(bits, dtype=bool)

    def parse(self, genome: BitsLike) -> np.ndarray:
        """Validate and return ``genome`` as a boolean array."""
        return parse_genome(genome, self.n_bits, self.name)

    def supernet(self) -> Arch:
        """The architecture of the supernet itself."""
        return self.decode(self.supernet_genome)

    def random_genome(self, rng: np.random.Generator) -> np.ndarray:
        """A uniformly random legal (repaired) genome."""
        return self.repair(rng.integers(0, 2, self.n_bits).astype(bool))

    def canonical_genome(self, genome: BitsLike) -> str:
        """The canonical text genome of the network ``genome`` decodes to."""
        return self.encode(self.decode(genome))

    def describe(self, genome: BitsLike) -> dict[str, Any]:
        """Genome text, canonical key and genes of ``genome``."""
        arch = self.decode(genome)
        return {
            "genome": format_genome(self.parse(genome)),
            "canonical_genome": self.encode(arch),
            "key": arch.key,
            "genes": self.genes(arch),
        }
