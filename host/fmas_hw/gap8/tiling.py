"""L1 tiles and int8 tensor sizes of a GAP8 layer (the ``L1 (tiles)`` rules of :mod:`.memory`).

The minimal tile of a layer computes one output row (full width) of one channel group (8
channels: one per cluster core, "parallel features"): the input rows that row needs
(``dilation*(k-1)+1`` for a k x k kernel, padding included) of at most 8 input channels (SQ8
splits input channels with an int32 accumulator), the filters of that group, bias and scales,
every operand double-buffered. :func:`plan_tile` picks the tile the AutoTiler would: fewest
tiles within the L1 budget, then least L2 <-> L1 traffic. Layout facts (bytes per element,
buffers per operand, channels per group) come from ``hw/gap8.toml`` ``[memory_plan]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..hw import load as load_hw

if TYPE_CHECKING:
    from .graph import Node


@dataclass(frozen=True)
class Tile:
    """An L1 tile of a layer: ``rows`` output rows x ``channels`` output channels.

    Attributes:
        rows: output rows per tile (full width).
        channels: output channels per tile.
        in_channels: input channels per tile (< all when a convolution splits its input).
        bytes: L1 bytes the tile needs (double-buffered operands + accumulator).
        count: tiles needed to cover the layer.
        traffic: L2 <-> L1 bytes the DMA moves for the whole layer (halos and re-reads included).
    """

    rows: int
    channels: int
    in_channels: int
    bytes: int
    count: int
    traffic: int



# -- sizes ------------------------------------------------------------------------------------


def _layout() -> dict[str, int]:
    return load_hw()["memory_plan"]


def tensor_bytes(shape: tuple[int, int, int]) -> int:
    """int8 bytes of an (H, W, C) activation."""
    return math.prod(shape) * _layout()["activation_bytes"]


def weight_bytes(node: Node) -> int:
    """Constants of ``node``: int8 filters + per-output-channel bias, scale and shift."""
    if node.op not in ("conv", "depthwise"):
        return 0
    lay = _layout()
    per_channel = lay["bias_bytes"] + lay["scale_bytes"] + lay["shift_bytes"]
    kh, kw = node.kernel
    cout = node.out_shape[2]
    cin = node.in_shape[2] if node.op == "conv" else 1
    return kh * kw * cin * cout * lay["weight_bytes"] + cout * per_channel


# -- L1 tiles ---------------------------------------------------------------------------------


def _rows_in(node: Node, rows_out: int) -> int:
    """Input rows (padding included) that ``rows_out`` output rows read."""
    if node.op in ("conv", "depthwise", "avgpool"):
        span = node.dilation[0] * (node.kernel[0] - 1) + 1
        return (rows_out - 1) * node.stride[0] + span
    if node.op == "upsample":
        extra = 1 if node.interpolation == "bilinear" else 0  # bilinear reads the next row too
        return -(-rows_out // node.stride[0]) + extra
    return rows_out


def _tile_parts(node: Node, rows: int, cout: int, cin: int) -> tuple[int, int, int, int]:
    """(input, filters, output, accumulator) bytes of one tile (single-buffered)."""
    lay = _layout()
    w_in = node.in_shape[1] + node.padding[2] + node.padding[3]
    w_out = node.out_shape[1]
    per_channel = lay["bias_bytes"] + lay["scale_bytes"] + lay["shift_bytes"]
    n_in = 2 if node.op == "add" else 1
    inp = n_in * _rows_in(node, rows) * w_in * (cin if node.op == "conv" else cout)
    out = rows * w_out * cout
    filt, acc = 0, 0
    if node.op == "conv":
        filt = node.kernel[0] * node.kernel[1] * cin * cout + cout * per_channel
        acc = rows * w_out * cout * lay["accumulator_bytes"]
    elif node.op == "depthwise":
        filt = node.kernel[0] * node.kernel[1] * cout + cout * per_channel
        acc = rows * w_out * cout * lay["accumulator_bytes"]
    return inp, filt, out, acc


def tile_bytes(node: Node, rows: int, cout: int, cin: int) -> int:
    """L1 bytes of a tile: double-buffered input, filters and output, plus the accumulator."""
    inp, filt, out, acc = _tile_parts(node, rows, cout, cin)
    return _layout()["tile_buffers"] * (inp + filt + out) + acc


def min_tile_bytes(node: Node) -> int:
    """L1 bytes of the smallest tile ``node`` can run with (0 for a stacked concatenation)."""
    if node.op == "concat":
        return 0
    group = _layout()["min_tile_channels"]
    return tile_bytes(node, 1, min(node.out_shape[2], group), min(node.in_shape[2], group))


def _channel_options(channels: int) -> list[int]:
    """Channel counts a tile may hold: all of them, then halvings down to one core group."""
    group = _layout()["min_tile_channels"]
    options, c = [channels], channels
    while c > group:
        c = max(group, -(-c // 2 // group) * group)
        options.append(c)
    return options


def _max_rows(node: Node, cout: int, cin: int, budget: int) -> int:
    """Most output rows a tile of (cout, cin) channels can hold within ``budget``."""
    height = node.out_shape[0]
    if tile_bytes(node, 1, cout, cin) > budget:
        return 0
    one, two = tile_bytes(node, 1, cout, cin), tile_bytes(node, 2, cout, cin)
    per_row = max(two - one, 1)  # tile bytes are affine in the number of rows
    return min(height, 1 + (budget - one) // per_row)


def _traffic(node: Node, rows: int, cout: int, cin: int) -> tuple[int, int]:
    """(tile count, L2 <-> L1 bytes) of covering ``node`` with (rows, cout, cin) tiles."""
    h_out, _, c_out = node.out_shape
    n_rows, n_co = -(-h_out // rows), -(-c_out // cout)
    inp = _tile_parts(node, rows, c_out, node.in_shape[2])[0]
    in_once = n_rows * inp  # every row band once, halo rows included
    out, weights = tensor_bytes(node.out_shape), weight_bytes(node)
    if node.op != "conv":
        return n_rows * n_co, in_once + weights + out
    n_ci = -(-node.in_shape[2] // cin)
    # Either output-channel tiles outside (input re-read per tile) or row bands outside
    # (filters re-read per band); AutoTiler keeps the cheaper order.
    channels_outer = in_once * n_co + weights
    rows_outer = (in_once if n_ci == 1 else in_once * n_co) + weights * n_rows
    return n_rows * n_co * n_ci, min(channels_outer, rows_outer) + out


def plan_tile(node: Node, budget: int) -> Tile | None:
    """The tile the plan assumes: fewest tiles within ``budget``, then least DMA traffic.

    Returns:
        The tile, or ``None`` for a concatenation (stacked tensor, no kernel) or when not even
        the minimal tile fits (the plan then reports an L1 failure).
    """
    if node.op == "concat":
        return None
    best: Tile | None = None
    cin_options = _channel_options(node.in_shape[2]) if node.op == "conv" else [node.in_shape[2]]
    for cout in _channel_options(node.out_shape[2]):
        for cin in cin_options:
            rows = _max_rows(node, cout, cin, budget)
            if rows == 0:
                continue
            count, traffic = _traffic(node, rows, cout, cin)
            tile = Tile(rows, cout, cin, tile_bytes(node, rows, cout, cin), count, traffic)
            if best is None or (tile.count, tile.traffic) < (best.count, best.traffic):
                best = tile
            break  # more input channels per tile never costs more tiles or traffic
    return best
