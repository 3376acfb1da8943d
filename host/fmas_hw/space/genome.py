"""Genome bit strings: parsing, validation and formatting shared by both search spaces.

A genome is a fixed-length bit string. Users write it as text (``"0100001111111111111111"``);
the GA works on boolean numpy arrays. Both forms convert losslessly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import GenomeError

BitsLike = str | Sequence[int] | Sequence[bool] | np.ndarray


def parse_genome(genome: BitsLike, n_bits: int, space: str) -> np.ndarray:
    """Return ``genome`` as a boolean array of length ``n_bits``.

    Args:
        genome: text of '0'/'1' characters (spaces and '_' allowed as separators), or a sequence
            of 0/1 values.
        n_bits: the search space's genome length.
        space: the search space's name, for the error message.

    Raises:
        GenomeError: wrong length or characters other than 0/1.
    """
    if isinstance(genome, str):
        text = genome.replace(" ", "").replace("_", "")
        bad = sorted({c for c in text if c not in "01"})
        if bad:
            raise GenomeError(
                f"genome {genome!r} for the {space} space contains {''.join(bad)!r}: "
                f"expected only '0' and '1' ({n_bits} bits)"
            )
        bits = np.array([c == "1" for c in text], dtype=bool)
    else:
        arr = np.asarray(genome)
        if arr.ndim != 1 or not np.isin(arr, (0, 1)).all():
            raise GenomeError(f"genome for the {space} space must be a flat sequence of 0/1 values")
        bits = arr.astype(bool)
    if bits.size != n_bits:
        raise GenomeError(
            f"genome for the {space} space has {bits.size} bits, expected {n_bits} "
            f"(see `fmas-hw arch --backbone {space}` for the supernet genome)"
        )
    return bits


def format_genome(bits: np.ndarray | Sequence[bool]) -> str:
    """Return the text form of a genome ('0'/'1' characters, no separators)."""
    return "".join("1" if b else "0" for b in bits)


def bits_to_index(bits: Sequence[bool] | np.ndarray) -> int:
    """Decode a most-significant-bit-first binary index."""
    value = 0
    for b in bits:
        value = (value << 1) | int(bool(b))
    return value


def index_to_bits(index: int, width: int) -> list[bool]:
    """Encode ``index`` as ``width`` bits, most significant first."""
    if not 0 <= index < (1 << width):
        raise ValueError(f"index {index} does not fit in {width} bits")
    return [bool((index >> (width - 1 - i)) & 1) for i in range(width)]
