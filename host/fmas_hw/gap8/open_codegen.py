"""The open route's code generator: tile plan + layout -> the context of ``templates/open/*.j2``.

:func:`build_open_model` plans the tiles of every kernel (:mod:`.tile_plan`) and the arenas
(:mod:`.open_layout`) of a quantised graph; :func:`open_context` turns them into what the
templates write: per layer its kernel kind, every size and count as a literal, its L1 buffer
offsets, and its operands as ``FmasRef`` initialisers (an L2 or L3 arena address, or the graph's
input/output). The kernel names and their order are those of the AutoTiler lowering
(:func:`fmas_hw.gap8.codegen.lower`), so ``model/layers.json`` and the ``FMAS:LAYER`` lines name
the same kernels on every route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ExportError
from .codegen import AtModel, reads_padding_on_both_sides
from .graph import Gap8Graph
from .open_layout import Layout, layout
from .quantize import INFOS_LAYOUT, QuantizedGraph
from .tile_plan import Budgets, LayerTiles, macs, plan_tiles

#: Version of the open backend's generated code: part of the hardware targets' identity, so
#: that a search never mixes figures of two backends.
BACKEND_VERSION = "open-1"
ACT_INDEX = {"none": 0, "relu": 1, "relu6": 2}
#: The SQ8 basic kernels by family and activation (none, ReLU, ReLUN).
KERNELS = {
    "reduct": ("KerParReduct_CC_SQ8", "KerParReduct_CC_ReLU_SQ8", "KerParReduct_CC_ReLUN_SQ8"),
    "dw": ("KerParConvDWRedActNxMDxDyStrideSxSyB32_SQ8", "KerParConvDWRedActNxMDxDyStrideSxSyB32_ReLU_SQ8",
           "KerParConvDWRedActNxMDxDyStrideSxSyB32_ReLUN_SQ8"),
    "matmul": ("KerParMatMulB32_SQ8", "KerParMatMulB32_ReLU_SQ8", "KerParMatMulB32_ReLUN_SQ8"),
    "add": ("KerMatAdd_SQ8", "KerMatAdd_ReLU_SQ8", "KerMatAdd_ReLUN_SQ8"),
    "avgpool": ("KerParPoolNxMStrideSxSy_SQ8", "KerParPoolNxMStrideSxSy_ReLU_SQ8",
                "KerParPoolNxMStrideSxSy_ReLUN_SQ8"),
    "act": (None, "Ker_ReLU_SQ8", "Ker_ReLUN_SQ8"),
    "resize": ("FmasResizeNearest_SQ8", "FmasResizeBilinear_SQ8"),
}


@dataclass
class OpenModel:
    """A network as the open route generates it."""

    graph: Gap8Graph
    at_model: AtModel
    kernels: dict[str, LayerTiles]
    layout: Layout
    budgets: Budgets

    def layer_tiles(self) -> list[LayerTiles]:
        """The tiles of every kernel in execution order."""
        return [self.kernels[layer.ir[0]] for layer in self.at_model.layers]


def kernel_shapes(graph: Gap8Graph, at_model: AtModel) -> dict[str, tuple[int, int, int]]:
    """Node -> output shape of every node that runs a kernel (a resize with a merged crop writes
    the crop's shape)."""
    return {layer.ir[0]: graph.node(layer.ir[-1]).out_shape for layer in at_model.layers}


def build_open_model(graph: Gap8Graph, qgraph: QuantizedGraph, at_model: AtModel,
                     budgets: Budgets) -> OpenModel:
    """Plan tiles and arenas of a quantised graph.

    Raises:
        TilingError: a layer's smallest tile exceeds the L1 budget.
        ExportError: the arenas exceed L2/L3.
    """
    explicit = {n.name for n in graph if reads_padding_on_both_sides(n)}
    kernels = plan_tiles(graph, kernel_shapes(graph, at_model), budgets, explicit)
    consts = {name: q.arrays for name, q in qgraph.nodes.items()}
    return OpenModel(graph, at_model, kernels, layout(graph, kernels, consts, budgets), budgets)


# ---- template context -----------------------------------------------------------------------


def _ref(model: OpenModel, home_level: str, offset: int, size: int, io_in_l3: bool) -> str:
    """An ``FmasRef`` initialiser (C text) for a home."""
    if home_level in ("in", "out"):
        pointer = "In" if home_level == "in" else "Out"
        if io_in_l3:
            return f"{{ 0, (AT_HYPERRAM_EXT_ADDR_TYPE)(uintptr_t){pointer}, 1, {size}u }}"
        return f"{{ {pointer}, 0, 0, {size}u }}"
    if home_level == "l3":
        return f"{{ 0, fmas_l3 + {offset}, 1, {size}u }}"
    return f"{{ fmas_l2 + {offset}, 0, 0, {size}u }}"


def _refs(model: OpenModel, t: LayerTiles, io_in_l3: bool) -> dict[str, str]:
    tensors = model.layout.tensors
    out: dict[str, str] = {}
    for i, src in enumerate(t.node.inputs):
        home = tensors[src]
        out[f"in{i}"] = _ref(model, home.level, home.offset, home.bytes, io_in_l3)
    home = tensors[t.name]
    out["out"] = _ref(model, home.level, home.offset, home.bytes, io_in_l3)
    for role in ("weights", "biases", "mul_scale", "mul_shift", "infos"):
        if (t.name, role) in model.layout.consts:
            c = model.layout.consts[(t.name, role)]
            out[role] = _ref(model, c.level, c.offset, c.bytes, io_in_l3)
    return out


def layer_context(model: OpenModel, t: LayerTiles, index: int, c_name: str, io_in_l3: bool) -> dict[str, Any]:
    """Everything the template writes for one layer (all numbers as literals)."""
    node = t.node
    (h, w, cin), (ho, wo, cout) = node.in_shape, t.out_shape
    top, bottom, left, right = node.padding if node.op in ("conv", "depthwise") else (0, 0, 0, 0)
    act = ACT_INDEX[node.activation]
    offsets = {name: off for name, (off, _) in t.buffers.items()}
    if "wb" not in offsets and "w" in offsets:
        offsets["wb"] = offsets["w"]
    kernel = KERNELS["resize"][node.interpolation == "bilinear"] if t.kind == "resize" else (
        KERNELS["reduct" if t.kind == "conv" else t.kind][act])
    if kernel is None:
        raise ExportError(f"layer '{node.name}': a stand-alone activation without an activation")
    return {
        "name": c_name, "index": index, "kind": t.kind, "kernel": kernel, "act": act,
        "h": h, "w": w, "cin": cin, "ho": ho, "wo": wo, "cout": cout,
        "fx": node.kernel[1], "fy": node.kernel[0], "sx": node.stride[1], "sy": node.stride[0],
        "dx": node.dilation[1], "dy": node.dilation[0],
        "pad_l": left, "pad_r": right, "pad_t": top, "pad_b": bottom,
        "span": node.dilation[0] * (node.kernel[0] - 1) + 1,
        "rows": t.rows, "co": t.channels, "ci": t.in_channels, "bands": t.bands,
        "nco": t.channel_tiles, "nci": t.in_channel_tiles, "explicit_pad": int(t.explicit_pad),
        "padded_w": w + left + right, "total": ho * wo * cout,
        "l1": t.l1_bytes, "buf": offsets, "refs": _refs(model, t, io_in_l3),
        "infos_bytes": len(INFOS_LAYOUT) and 13, "macs": macs(t), "tiles": t.tiles,
        "dma_in": t.dma_in, "dma_out": t.dma_out,
    }


def open_context(model: OpenModel, prefix: str, io_in_l3: bool) -> dict[str, Any]:
    """The context of ``templates/open/Kernels.c.j2`` and ``Kernels.h.j2``."""
    lay = model.layout
    layers = [layer_context(model, model.kernels[layer.ir[0]], i, layer.name, io_in_l3)
              for i, layer in enumerate(model.at_model.layers)]
    return {
        "open": {
            "layers": layers,
            "layer_count": len(layers),
            "l1_bytes": max(t["l1"] for t in layers),
            "l1_layer": max(layers, key=lambda t: t["l1"])["name"],
            "l1_budget": model.budgets.l1,
            "l2_bytes": lay.l2_bytes, "l2_budget": model.budgets.l2,
            "l3_bytes": lay.l3_bytes, "l3_budget": model.budgets.l3,
            "stage_offset": lay.stage[0], "stage_bytes": lay.stage[1],
            "blob_bytes": len(lay.blob), "blob_l3": lay.blob_l3, "blob_l2_offset": lay.blob_l2_offset,
            "const_file": f"{prefix}_L3_Flash_Const.dat",
            "ext_managed": int(io_in_l3),
            "backend": BACKEND_VERSION,
        },
    }
