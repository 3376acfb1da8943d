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
from .bands import reads_padding_on_both_sides
from .codegen import AtModel
from .graph import Gap8Graph
from .open_layout import Layout, layout
from .quantize import QuantizedGraph
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


def _refs(model: OpenModel, t: LayerTiles, io_in_l3: bool) -> list[dict[str, str]]:
    """The layer's operands as ``{"name", "init"}`` (``FmasRef r_<name> = <init>;``)."""
    tensors = model.layout.tensors
    out = [{"name": f"in{i}", "init": _ref(model, tensors[src].level, tensors[src].offset,
                                            tensors[src].bytes, io_in_l3)}
           for i, src in enumerate(t.node.inputs)]
    home = tensors[t.name]
    out.append({"name": "out", "init": _ref(model, home.level, home.offset, home.bytes, io_in_l3)})
    for role in ("weights", "biases", "mul_scale", "mul_shift", "infos"):
        if (t.name, role) in model.layout.consts:
            c = model.layout.consts[(t.name, role)]
            out.append({"name": role, "init": _ref(model, c.level, c.offset, c.bytes, io_in_l3)})
    return out


def _flags(t: LayerTiles) -> dict[str, int]:
    """The template's choices, decided here (the templates only test flags)."""
    kind = t.kind
    split = kind == "conv" and t.in_channel_tiles > 1
    per_tile_weights = kind == "matmul" and t.pixels_outer and t.channel_tiles > 1
    return {
        **{f"is_{k}": int(kind == k) for k in ("conv", "dw", "avgpool", "resize", "matmul", "add", "act")},
        "is_rows": int(kind in ("conv", "dw", "avgpool", "resize")),
        "is_flat": int(kind in ("add", "act")),
        "has_infos": int(kind != "resize"),
        "split": int(split),
        "block_channels": int(kind in ("conv", "dw") or (kind == "matmul" and not t.pixels_outer)),
        "block_weights": int(kind == "dw" or (kind == "conv" and not split)
                             or (kind == "matmul" and not t.pixels_outer)),
        "pixels_outer": int(kind == "matmul" and t.pixels_outer),
        "tile_channels": int(per_tile_weights),
        "once_channels": int(kind == "matmul" and t.pixels_outer and t.channel_tiles == 1),
        "explicit": int(t.explicit_pad),
        "kernel_pad": int(not t.explicit_pad),
    }


def layer_context(model: OpenModel, t: LayerTiles, index: int, c_name: str, io_in_l3: bool) -> dict[str, Any]:
    """Everything the template writes for one layer: flags, and every number as a literal."""
    node = t.node
    (h, w, cin), (ho, wo, cout) = node.in_shape, t.out_shape
    top, bottom, left, right = node.padding if node.op in ("conv", "depthwise") else (0, 0, 0, 0)
    act = ACT_INDEX[node.activation]
    buf = {name: off for name, (off, _) in t.buffers.items()}
    buf.setdefault("wb", buf.get("w", 0))
    kernel = KERNELS["resize"][node.interpolation == "bilinear"] if t.kind == "resize" else (
        KERNELS["reduct" if t.kind == "conv" else t.kind][act])
    if kernel is None:
        raise ExportError(f"layer '{node.name}': a stand-alone activation without an activation")
    k = node.kernel[0] * node.kernel[1]
    unit = {"add": "values", "act": "values", "matmul": "pixels"}.get(t.kind, "rows")
    shape = f"{t.rows} {unit}" + ("" if t.kind in ("add", "act") else f" x {t.channels} channels") + (
        f" x {t.in_channels} input channels" if t.in_channel_tiles > 1 else "")
    return {
        "name": c_name, "index": index, "kind": t.kind, "kernel": kernel, **_flags(t),
        "h": h, "w": w, "cin": cin, "ho": ho, "wo": wo, "cout": cout, "hw": h * w, "howo": ho * wo,
        "fx": node.kernel[1], "fy": node.kernel[0], "sx": node.stride[1], "sy": node.stride[0],
        "dx": node.dilation[1], "dy": node.dilation[0], "k": k, "cin_k": cin * k,
        "wpc": k if t.kind == "dw" else cin * k,  # weight bytes per output channel
        "pad_l": left, "pad_r": right, "pad_t": top, "pad_b": bottom,
        "span": node.dilation[0] * (node.kernel[0] - 1) + 1, "bilinear": int(node.interpolation == "bilinear"),
        "do_scale": int(act == 0), "rows": t.rows, "co": t.channels, "ci": t.in_channels,
        "bands": t.bands, "nco": t.channel_tiles, "nci": t.in_channel_tiles,
        "nci_bands": t.in_channel_tiles * t.bands, "padded_w": w + left + right, "total": ho * wo * cout,
        "l1": t.l1_bytes, "buf": buf, "refs": _refs(model, t, io_in_l3),
        "macs": macs(t), "tiles": t.tiles, "dma_in": t.dma_in, "dma_out": t.dma_out, "shape": shape,
    }


def open_context(model: OpenModel, prefix: str, io_in_l3: bool) -> dict[str, Any]:
    """The context of ``templates/open/Kernels.c.j2`` and ``Kernels.h.j2``."""
    lay = model.layout
    layers = [layer_context(model, model.kernels[layer.ir[0]], i, layer.name, io_in_l3)
              for i, layer in enumerate(model.at_model.layers)]
    return {
        "prefix_upper": prefix.upper(),
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
            "graph_ram": int(not io_in_l3),
            "io_where": "HyperRAM addresses" if io_in_l3 else "L2 buffers",  # the kernels open the HyperRAM themselves
            "blob_l2": len(lay.blob) - lay.blob_l3,
            "backend": BACKEND_VERSION,
        },
    }
