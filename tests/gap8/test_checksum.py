"""The project's expected output checksum: FNV-1a 32-bit, as the firmware computes it."""

from __future__ import annotations

from fmas_hw.gap8.checksum import fnv1a32


def test_fnv1a32_reference_values() -> None:
    assert fnv1a32(b"") == 0x811C9DC5
    assert fnv1a32(b"a") == 0xE40C292C
