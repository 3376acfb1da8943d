"""The output checksum the firmware prints (``FMAS:CHECKSUM``) and the host expects of a project.

The C side is ``fmas_fnv1a32`` in the firmware's header; both must agree bit for bit, so the
expected value written into ``model/expected.json`` is computed here, next to the int8 reference.
"""

from __future__ import annotations

U32 = 1 << 32


def fnv1a32(data: bytes) -> int:
    """FNV-1a 32-bit hash: the output checksum of ``fmas_fnv1a32`` in the header.

    Args:
        data: the bytes of the output tensor, as laid out in GAP8 memory.

    Returns:
        The checksum the firmware prints in ``FMAS:CHECKSUM``.
    """
    value = 2166136261
    for byte in data:
        value = ((value ^ byte) * 16777619) % U32
    return value
