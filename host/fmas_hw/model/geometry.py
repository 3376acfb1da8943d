"""Shapes and channel counts of the DeepLabV3+ networks, without TensorFlow.

What the weightless interpreters (parameter and FLOP counting, the GAP8 layer graph and memory
plan) share with the Keras builders: padding, pooling factors and MobileNetV2's channel counts.
Kept apart from the builders so that counting a candidate (``fmas-hw arch``) never imports
TensorFlow.
"""

from __future__ import annotations

from ..space.mobilenetv2 import GROUPS

#: Output channels (at width 1.0) and expansion of every supernet block.
BLOCK_FILTERS = {0: 16, 17: 0} | {k: ch for ch, ids in GROUPS.items() for k in ids} | {16: 320}
EXPANSION = {0: 1} | {k: 6 for k in range(1, 17)}
#: Blocks that change the channel count (no residual connection).
GROUP_FIRST = {0, 16} | {ids[0] for ids in GROUPS.values()}


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of ``divisor`` (MobileNetV2's ``_make_divisible``)."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def same_padding(kernel: int, rate: int) -> tuple[int, int]:
    """Explicit (begin, end) padding that makes a strided 'valid' conv behave like 'same'."""
    effective = kernel + (kernel - 1) * (rate - 1)
    total = effective - 1
    return total // 2, total - total // 2


def pool_factors(n: int, largest: int = 8) -> list[int]:
    """Split a pooling extent ``n`` into factors <= ``largest`` where possible (48 -> [8, 6]).

    Averages of equal-sized window averages equal the global average, so a chain of
    ``AveragePooling2D`` with these sizes computes exactly a global average pooling. A prime
    factor above ``largest`` stays as one (large) window.
    """
    factors, rest = [], n
    for f in range(largest, 1, -1):
        while rest % f == 0 and rest > 1:
            factors.append(f)
            rest //= f
    p = 2
    while rest > 1:  # prime factors above `largest`
        while rest % p == 0:
            factors.append(p)
            rest //= p
        p += 1
    return factors or [1]
