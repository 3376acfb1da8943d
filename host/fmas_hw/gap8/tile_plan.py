"""The open route's tile plan: for every kernel of a candidate, its L1 tiles, buffers and DMA.

One :class:`LayerTiles` per kernel is the single source of what the generated C does
(:mod:`.open_codegen` renders its loops from it), of the L1 figures of the memory plan and of
the DMA traffic the cycle estimate counts. A tile is chosen like the DORY / AutoTiler tilers do:
a small search over the tile shapes a kernel allows, keeping the ones whose double-buffered
buffers fit the L1 budget, and among those the fewest tiles, then the least L2 <-> L1 traffic.

Tile shapes by kernel (all activations int8 CHW):

* ``conv`` (standard k x k): ``rows`` output rows (full width) x ``channels`` output channels x
  ``in_channels`` input channels (an int32 accumulator in L1 carries the sum over input-channel
  chunks); the input rows of a band include the halo the kernel height, stride and dilation need.
* ``matmul`` (1x1, stride 1): ``rows`` is a run of output pixels of the flattened map (any
  count, not whole rows), all input channels, ``channels`` output channels; its loops run either
  output-channel tiles outermost (the input is read once per channel tile) or pixel runs
  outermost (the weights are read once per run), whichever moves fewer bytes.
* ``dw`` (depthwise), ``avgpool``, ``resize``: ``rows`` output rows x ``channels`` channels.
* ``add``, ``act``: ``rows`` consecutive int8 values of the flattened tensor.

Loops run output-channel tiles outermost, then row bands (pixel runs), then input-channel
chunks. The input tile and the output tile are double-buffered (the next input is fetched and
the previous output written back while a tile computes); the weights, bias and scales of an
output-channel tile are loaded once for it, except for a ``conv`` whose input channels are split,
whose weights change with every chunk and are double-buffered like its input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import ExportError
from ..hw import load as load_hw
from .bands import band_span, reads_padding_on_both_sides, resize_span

if TYPE_CHECKING:
    from .graph import Gap8Graph, Node

#: Alignment of every L1 buffer (the SQ8 kernels load 4 int8 values at a time).
ALIGN = 4
#: ``KerMat3_SQ8_T.Feat`` and friends are 16-bit: a flat tile holds at most this many values.
MAX_FLAT = 65535
#: Bytes of ``Infos`` reserved in L1 (``AT_INF_DIM`` = 13, rounded up).
INFOS_L1 = 16


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class TilingError(ExportError):
    """No tile of a layer fits the L1 budget."""


@dataclass(frozen=True)
class Budgets:
    """The memory the generated code may use, in bytes.

    Attributes:
        l1: cluster L1 for the tiles (L1 minus the cluster stacks).
        l2: L2 for activations, staging buffers and promoted constants.
        l3: HyperRAM for constants and spilled activations.
        min_tiles: split every layer into at least this many tiles where it has as many units
            (rows, pixels, channels); more than 1 only to exercise the tiling (tests).
        max_in_channels: cap on a convolution's input channels per tile (0: none), likewise.
    """

    l1: int
    l2: int
    l3: int
    min_tiles: int = 1
    max_in_channels: int = 0

    @classmethod
    def from_hw(cls, l1: int | None = None, l2: int | None = None) -> Budgets:
        """Budgets of ``hw/gap8.toml`` (GreenWaves' formulas), ``l1``/``l2`` overriding them."""
        hw = load_hw()
        mem, cores = hw["memory"], hw["chip"]["cluster_cores"]
        default_l1 = (mem["at_l1_budget_bytes"] - mem["cluster_stack_bytes"]
                      - (cores - 1) * mem["cluster_slave_stack_bytes"])
        return cls(l1=l1 or default_l1, l2=l2 or mem["at_l2_budget_bytes"], l3=mem["at_l3_budget_bytes"])


@dataclass(frozen=True)
class LayerTiles:
    """How one kernel runs as tiles.

    Attributes:
        node: the graph node.
        kind: ``conv``, ``matmul``, ``dw``, ``avgpool``, ``resize``, ``add`` or ``act``.
        rows: output rows per tile (pixels for ``matmul``, values for ``add``/``act``).
        channels: output channels per tile (1 for flat kinds).
        in_channels: input channels per tile (``conv`` only; else the layer's).
        out_shape: (H, W, C) the kernel writes (a resize with a merged crop writes the crop).
        explicit_pad: the input tile is zero-padded in L1 (the kernels' own padding would read
            padding on both sides of one output, which the SQ8 border code gets wrong).
        pixels_outer: a ``matmul`` whose loops run pixel runs outermost.
        buffers: L1 buffer name -> (offset, bytes), each aligned.
        tiles: number of kernel invocations (tiles).
        dma_in: L2/L3 -> L1 bytes over the layer (activations, weights and constants).
        dma_out: L1 -> L2/L3 bytes over the layer.
    """

    node: Node
    kind: str
    rows: int
    channels: int
    in_channels: int
    out_shape: tuple[int, int, int]
    explicit_pad: bool
    pixels_outer: bool = False
    buffers: dict[str, tuple[int, int]] = field(default_factory=dict)
    tiles: int = 0
    dma_in: int = 0
    dma_out: int = 0

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def l1_bytes(self) -> int:
        """L1 bytes of the layer's buffers (end of the last one)."""
        return max((off + size for off, size in self.buffers.values()), default=0)

    @property
    def bands(self) -> int:
        """Output-row bands (or flat chunks) of the layer."""
        return -(-self._extent() // self.rows)

    @property
    def channel_tiles(self) -> int:
        return -(-self.out_shape[2] // self.channels) if self.kind not in FLAT_KINDS else 1

    @property
    def in_channel_tiles(self) -> int:
        return -(-self.node.in_shape[2] // self.in_channels) if self.kind == "conv" else 1

    def _extent(self) -> int:
        h, w, c = self.out_shape
        return {"matmul": h * w, "add": h * w * c, "act": h * w * c}.get(self.kind, h)


FLAT_KINDS = ("add", "act")


def _geometry(node: Node, kind: str, out_h: int) -> tuple:
    """What the input rows of a row-tiled kernel's bands depend on (a cache key)."""
    return (kind, node.in_shape[0], out_h, node.stride[0], node.padding[0] if kind in ("conv", "dw") else 0,
            node.dilation[0] * (node.kernel[0] - 1) + 1, node.interpolation)


@lru_cache(maxsize=16384)
def _band_stats(geometry: tuple, rows: int) -> tuple[int, int]:
    """``(most, total)`` input rows the bands of ``rows`` output rows load (cached: every
    candidate of a search has the same layers again and again)."""
    kind, h, out_h, stride, top, span, interpolation = geometry
    counts = [resize_span(h, out_h, interpolation, y0, min(rows, out_h - y0))[1] if kind == "resize"
              else band_span(h, top, span, stride, y0, min(rows, out_h - y0))[1] for y0 in range(0, out_h, rows)]
    return max(counts), sum(counts)


def _max_rows_in(node: Node, kind: str, out_h: int, rows: int, explicit: bool) -> int:
    """Most input rows one band of ``rows`` output rows loads (padding included when explicit)."""
    if explicit:
        return (rows - 1) * node.stride[0] + node.dilation[0] * (node.kernel[0] - 1) + 1
    return _band_stats(_geometry(node, kind, out_h), rows)[0]


# ---- buffers of a tile ------------------------------------------------------------------------


def _layout(parts: list[tuple[str, int]]) -> dict[str, tuple[int, int]]:
    """Consecutive aligned L1 buffers."""
    out, offset = {}, 0
    for name, size in parts:
        if size:
            out[name] = (offset, size)
            offset += _align(size)
    return out


def _buffers(t: LayerTiles) -> dict[str, tuple[int, int]]:
    """The L1 buffers of a tile shape (every operand that changes per tile twice)."""
    node, (ho, wo, _) = t.node, t.out_shape
    h, w, ci_all = node.in_shape
    r, co, ci = t.rows, t.channels, t.in_channels
    per_channel = [("bias", 4 * co), ("scale", co), ("shift", co)]
    if t.kind in FLAT_KINDS:
        ins = [("in0", r), ("in0b", r)] + ([("in1", r), ("in1b", r)] if t.kind == "add" else [])
        return _layout(ins + [("out", r), ("outb", r), ("infos", INFOS_L1)])
    if t.kind == "matmul":
        return _layout([("in", ci_all * r), ("inb", ci_all * r), ("w", co * ci_all), *per_channel, ("col", 4 * ci_all + 16), ("out", co * r), ("outb", co * r),
                        ("infos", INFOS_L1)])
    width = w + (node.padding[2] + node.padding[3] if t.explicit_pad else 0)
    rows_in = _max_rows_in(node, t.kind, ho, r, t.explicit_pad)
    chans = ci if t.kind == "conv" else co
    tile_in = chans * rows_in * width
    parts = [("in", tile_in), ("inb", tile_in)]
    if t.kind == "conv":
        k = node.kernel[0] * node.kernel[1]
        split = ci < ci_all  # weights change with every input-channel chunk: double-buffered
        parts += [("w", co * ci * k), ("wb", co * ci * k if split else 0), *per_channel,
                  ("acc", 4 * co * r * wo)]
    elif t.kind == "dw":
        k = node.kernel[0] * node.kernel[1]
        parts += [("w", co * k), *per_channel]
    parts += [("out", co * r * wo), ("outb", co * r * wo)]
    return _layout(parts + ([("infos", INFOS_L1)] if t.kind != "resize" else []))


def _traffic(t: LayerTiles) -> tuple[int, int, int]:
    """``(tiles, DMA bytes in, DMA bytes out)`` of a tile shape, as the generated loops move them."""
    node, (ho, wo, co_all) = t.node, t.out_shape
    h, w, ci_all = node.in_shape
    out_bytes = ho * wo * co_all
    n_co, bands = t.channel_tiles, t.bands
    if t.kind in FLAT_KINDS:
        ins = 2 if t.kind == "add" else 1
        return bands, ins * out_bytes + INFOS_L1_BYTES, out_bytes
    consts = co_all * 6 + INFOS_L1_BYTES if t.kind in ("conv", "matmul", "dw") else INFOS_L1_BYTES
    if t.kind == "resize":
        consts = 0
    if t.kind == "matmul":
        weights = co_all * ci_all
        if t.pixels_outer and n_co > 1:  # every pixel run reads all weights and channel constants
            return n_co * bands, h * w * ci_all + bands * (weights + co_all * 6) + INFOS_L1_BYTES, out_bytes
        if t.pixels_outer:
            return bands, h * w * ci_all + weights + consts, out_bytes
        return n_co * bands, n_co * h * w * ci_all + weights + consts, out_bytes
    rows_in = _band_stats(_geometry(node, t.kind, ho), t.rows)[1]  # padding is never moved
    if t.kind == "conv":
        n_ci = t.in_channel_tiles
        k = node.kernel[0] * node.kernel[1]
        weights = co_all * ci_all * k * (1 if n_ci == 1 and n_co == 1 else bands)
        return n_co * bands * n_ci, n_co * rows_in * w * ci_all + weights + consts, out_bytes
    weights = co_all * node.kernel[0] * node.kernel[1] if t.kind == "dw" else 0
    return n_co * bands, rows_in * w * co_all + weights + consts, out_bytes


INFOS_L1_BYTES = 13


# ---- the search -------------------------------------------------------------------------------


def smallest_tile_bytes(node: Node, out_shape: tuple[int, int, int] | None = None) -> int:
    """L1 bytes of the smallest tile the kernel of ``node`` can run with (0: no kernel)."""
    kind = kernel_kind(node)
    if not kind:
        return 0
    tile = LayerTiles(node, kind, 1, 1, 1 if kind == "conv" else node.in_shape[2],
                      out_shape or node.out_shape, reads_padding_on_both_sides(node))
    return max((off + size for off, size in _buffers(tile).values()), default=0)


def kernel_kind(node: Node) -> str:
    """The kernel family a node runs with."""
    if node.op == "conv":
        return "matmul" if node.kernel == (1, 1) and node.stride == (1, 1) and not any(node.padding) else "conv"
    return {"depthwise": "dw", "avgpool": "avgpool", "upsample": "resize", "add": "add",
            "act": "act"}.get(node.op, "")


def _options(n: int) -> list[int]:
    """Channel counts to try: all, then halvings (rounded up) down to one."""
    out, c = [n], n
    while c > 1:
        c = -(-c // 2)
        out.append(c)
    return out


def _rows_options(extent: int) -> list[int]:
    out, r = [extent], extent
    while r > 1:
        r = -(-r // 2)
        out.append(r)
    return sorted(set(out) | {max(1, extent // k) for k in (3, 5, 6, 7)}, reverse=True)


def plan_layer(node: Node, out_shape: tuple[int, int, int], budgets: Budgets,
               explicit_pad: bool = False) -> LayerTiles:
    """The tile shape of one kernel: fewest tiles within the L1 budget, then least DMA traffic.

    Raises:
        TilingError: not even the smallest tile fits the L1 budget (naming the layer and its need).
    """
    kind = kernel_kind(node)
    if not kind:
        raise ExportError(f"layer '{node.name}': no open-route kernel for op '{node.op}'")
    ho, wo, co_all = out_shape
    if kind in FLAT_KINDS:
        co_opts, ci_opts, row_opts = [1], [1], _rows_options(min(ho * wo * co_all, MAX_FLAT))
    else:
        extent = ho * wo if kind == "matmul" else ho
        co_opts = _options(co_all)
        ci_opts = _options(node.in_shape[2]) if kind == "conv" else [node.in_shape[2]]
        if kind == "conv" and budgets.max_in_channels:
            ci_opts = [c for c in ci_opts if c <= budgets.max_in_channels] or [1]
        row_opts = _rows_options(min(extent, MAX_FLAT // max(1, co_all)) if kind == "matmul" else extent)
    fitting: list[LayerTiles] = []
    smallest: int | None = None
    for co in co_opts:
        for ci in ci_opts:
            for r in row_opts:
                shape = LayerTiles(node, kind, r, co, ci, out_shape, explicit_pad)
                bufs = _buffers(shape)
                size = max(off + s for off, s in bufs.values())
                smallest = size if smallest is None or size < smallest else smallest
                if size > budgets.l1:
                    continue
                for outer in (False, True) if kind == "matmul" else (False,):
                    order = replace(shape, pixels_outer=outer)
                    tiles, dma_in, dma_out = _traffic(order)
                    fitting.append(replace(order, buffers=bufs, tiles=tiles, dma_in=dma_in, dma_out=dma_out))
                if budgets.min_tiles <= 1:
                    break  # fewer rows only cost more tiles
    if not fitting:
        raise TilingError(f"layer '{node.name}' ({kind}, {'x'.join(map(str, node.in_shape))} -> "
                          f"{'x'.join(map(str, out_shape))}): its smallest tile needs {smallest} bytes of "
                          f"L1, the budget is {budgets.l1}; raise --l1-bytes or choose another candidate")
    need = min(budgets.min_tiles, max(t.tiles for t in fitting))
    return min((t for t in fitting if t.tiles >= need), key=lambda t: (t.tiles, t.dma_in + t.dma_out))


def plan_tiles(graph: Gap8Graph, out_shapes: dict[str, tuple[int, int, int]], budgets: Budgets,
               explicit: set[str] | None = None) -> dict[str, LayerTiles]:
    """The tiles of every kernel of ``graph`` (``out_shapes``: the kernels and what they write).

    Args:
        graph: the fused layer graph.
        out_shapes: node name -> output shape of every node that runs a kernel.
        budgets: the L1 budget and tiling limits.
        explicit: nodes whose input tiles are zero-padded in L1.
    """
    explicit = explicit or set()
    return {n.name: plan_layer(n, out_shapes[n.name], budgets, n.name in explicit)
            for n in graph if n.name in out_shapes}
def macs(t: LayerTiles) -> int:
    """Multiply-accumulates of the kernel (the ``ops`` the firmware reports)."""
    return t.node.macs if t.kind != "resize" else math.prod(t.out_shape)
