"""Where the open route's network keeps its tensors: L2 and L3 arenas, and the constants file.

Activations live in one L2 arena (offsets from a liveness-aware first-fit allocation, largest
tensors first) or, when the L2 budget cannot hold them, in an L3 HyperRAM arena; the graph input
and output are the application's (``main.c``). Channel concatenations are slices of one tensor
(their producers write in place) and a crop merged into its resize is the resize's output.
Constants are packed into ``<prefix>_L3_Flash_Const.dat``: those of the layers that fit the L2
left over are copied to L2 by the constructor (smallest layers first), the rest to the L3 arena,
from which the layers stream them tile by tile. The L2 staging buffer through which L3 operands
reach L1 is as large as the largest L1 buffer such an operand fills.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import ExportError
from .graph import Gap8Graph
from .memory import merged_crops
from .tile_plan import ALIGN, Budgets, LayerTiles

#: Constant roles in the order the constants file holds them (per layer), with their numpy type.
CONST_TYPES = {"weights": "<i1", "biases": "<i4", "mul_scale": "u1", "mul_shift": "i1", "infos": "i1"}


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


@dataclass(frozen=True)
class Home:
    """Where one tensor lives: ``level`` ``l2``/``l3`` (an arena) or ``in``/``out`` (the graph's
    input/output buffers), at ``offset`` bytes, spanning ``bytes``."""

    level: str
    offset: int
    bytes: int


@dataclass
class Layout:
    """The arenas and the constants file of a network.

    Attributes:
        tensors: tensor name (producer node, or ``input``) -> its home.
        consts: (node, role) -> home of that constant array.
        l2_bytes: the L2 arena (activations, staging buffer, promoted constants).
        l3_bytes: the L3 arena (constants not in L2, spilled activations).
        stage: (offset, bytes) of the staging buffer in the L2 arena.
        blob: the constants file's bytes; ``blob_l3`` bytes of it go to L3 offset 0, the rest
            to L2 from ``blob_l2_offset``.
        spilled: activation tensors in L3.
    """

    tensors: dict[str, Home] = field(default_factory=dict)
    consts: dict[tuple[str, str], Home] = field(default_factory=dict)
    l2_bytes: int = 0
    l3_bytes: int = 0
    stage: tuple[int, int] = (0, 0)
    blob: bytes = b""
    blob_l3: int = 0
    blob_l2_offset: int = 0
    spilled: list[str] = field(default_factory=list)


@dataclass
class _Buffer:
    name: str
    size: int
    start: int
    end: int
    offset: int = 0


def _activation_buffers(graph: Gap8Graph, kernels: dict[str, LayerTiles]) -> tuple[list[_Buffer], dict[str, tuple[str, int]]]:
    """Arena buffers with live ranges, and tensor -> (buffer, byte offset in it)."""
    index = {n.name: i for i, n in enumerate(graph)}
    alias: dict[str, tuple[str, int]] = {}
    for crop, resize in merged_crops(graph).items():
        alias[crop] = (resize, 0)
    for node in graph:
        if node.op == "concat":
            offset = 0
            h, w, _ = node.out_shape
            for src in node.inputs:
                if src == "input" or graph.node(src).op == "concat":
                    raise ExportError(f"layer '{node.name}': a concatenation of the graph input or of "
                                      "another concatenation is not supported")
                alias[src] = (node.name, offset)
                offset += h * w * graph.node(src).out_shape[2]
    def owner(name: str) -> str:
        while name in alias:
            name = alias[name][0]
        return name

    final = owner(graph.output)
    if final in alias.values() or graph.node(final).op == "concat":
        raise ExportError(f"the graph output '{graph.output}' must be written by a kernel")
    buffers: dict[str, _Buffer] = {}
    for i, node in enumerate(graph):
        if node.name not in alias and node.name != final:
            shape = kernels[node.name].out_shape if node.name in kernels else node.out_shape
            buffers[node.name] = _Buffer(node.name, int(np.prod(shape)), i, i)

    for node in graph:
        if node.op == "concat":
            buffers[node.name].start = min(index[s] for s in node.inputs)
        for src in node.inputs:
            if owner(src) in buffers:
                buf = buffers[owner(src)]
                buf.end = max(buf.end, index[node.name])
    return list(buffers.values()), alias


def _first_fit(buffers: list[_Buffer]) -> int:
    """Place ``buffers`` (largest first) at the lowest offsets free over their live ranges."""
    placed: list[_Buffer] = []
    for buf in sorted(buffers, key=lambda b: (-b.size, b.start, b.name)):
        taken = sorted((p.offset, p.offset + _align(p.size)) for p in placed
                       if p.start <= buf.end and buf.start <= p.end)
        offset = 0
        for lo, hi in taken:
            if offset + buf.size <= lo:
                break
            offset = max(offset, hi)
        buf.offset = offset
        placed.append(buf)
    return max((b.offset + _align(b.size) for b in placed), default=0)


def _spill(buffers: list[_Buffer], budget: int) -> tuple[list[_Buffer], list[_Buffer], int]:
    """(L2 buffers, L3 buffers, L2 arena bytes): the largest tensors leave L2 until it fits."""
    in_l2, in_l3 = list(buffers), []
    size = _first_fit(in_l2)
    while size > budget and in_l2:
        largest = max(in_l2, key=lambda b: (b.size, b.name))
        in_l2.remove(largest)
        in_l3.append(largest)
        size = _first_fit(in_l2)
    return in_l2, in_l3, size


def _stage_bytes(kernels: dict[str, LayerTiles]) -> int:
    """Largest L1 buffer any layer fills: bounds every staged transfer."""
    return max((size for t in kernels.values() for size in (s for _, s in t.buffers.values())), default=0)


def layout(graph: Gap8Graph, kernels: dict[str, LayerTiles], consts: dict[str, dict[str, np.ndarray]],
           budgets: Budgets) -> Layout:
    """Place the activations and constants of ``graph`` in the L2 and L3 arenas.

    Args:
        graph: the fused layer graph.
        kernels: its tile plan.
        consts: node -> role -> constant array (the quantisation).
        budgets: L2 / L3 budgets.

    A network over the L3 budget is still laid out (``export --force`` writes it; its
    constructor then fails on GAP8 and in the emulation).

    Raises:
        ExportError: L2 cannot hold even the staging buffer, or the layout is not supported.
    """
    buffers, alias = _activation_buffers(graph, kernels)
    stage = _align(_stage_bytes(kernels))
    in_l2, in_l3, l2_size = _spill(buffers, budgets.l2 - stage)
    if l2_size + stage > budgets.l2:
        raise ExportError(f"the L2 budget of {budgets.l2} bytes cannot hold the staging buffer of "
                          f"{stage} bytes: raise --l2-bytes or lower --l1-bytes")
    out = Layout(stage=(l2_size, stage), spilled=sorted(b.name for b in in_l3))
    l2_end = l2_size + stage
    arrays = [(node, role, np.ascontiguousarray(consts[node][role], CONST_TYPES[role]))
              for node in (n.name for n in graph) if node in consts for role in CONST_TYPES if role in consts[node]]
    by_layer: dict[str, int] = {}
    for node, _, array in arrays:
        by_layer[node] = by_layer.get(node, 0) + _align(array.nbytes)
    promoted, free = set(), budgets.l2 - l2_end
    for node, size in sorted(by_layer.items(), key=lambda kv: (kv[1], kv[0])):
        if size > free:
            break
        promoted.add(node)
        free -= size
    blob = bytearray()
    l3_part: list[tuple[str, str, np.ndarray]] = []
    l2_part: list[tuple[str, str, np.ndarray]] = []
    for node, role, array in arrays:
        (l2_part if node in promoted else l3_part).append((node, role, array))
    for part, level in ((l3_part, "l3"), (l2_part, "l2")):
        if level == "l2":
            out.blob_l3 = len(blob)
        for node, role, array in part:
            offset = len(blob)
            blob += array.tobytes() + bytes(_align(array.nbytes) - array.nbytes)
            base = offset if level == "l3" else l2_end + offset - out.blob_l3
            out.consts[(node, role)] = Home(level, base, array.nbytes)
    out.blob = bytes(blob)
    out.blob_l2_offset = l2_end
    out.l2_bytes = l2_end + len(blob) - out.blob_l3
    l3_acts = _first_fit(in_l3)
    for buf in in_l3:
        buf.offset += out.blob_l3
    out.l3_bytes = out.blob_l3 + l3_acts  # over budget: the memory plan's verdict says it cannot run
    for buf in in_l2:
        out.tensors[buf.name] = Home("l2", buf.offset, buf.size)
    for buf in in_l3:
        out.tensors[buf.name] = Home("l3", buf.offset, buf.size)
    h, w, c = graph.input_shape
    out.tensors["input"] = Home("in", 0, h * w * c)
    final = graph.node(graph.output).out_shape
    writer = next(n for n in (graph.output, *alias) if n not in alias and n in kernels) \
        if graph.output not in alias else alias[graph.output][0]
    out.tensors[writer] = Home("out", 0, int(np.prod(final)))
    for name in alias:
        owner, offset = name, 0
        while owner in alias:
            owner, extra = alias[owner]
            offset += extra
        home = out.tensors[owner]
        out.tensors[name] = Home(home.level, home.offset + offset, home.bytes - offset)
    return out
