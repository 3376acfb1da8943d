"""Lower the GAP8 layer graph to AutoTiler generator calls (the content of ``<prefix>Model.c``).

Three small representations, each built from the previous one (the DORY pattern):

1. :class:`~fmas_hw.gap8.graph.Gap8Graph` — fused layers with float weights;
2. :class:`AtModel` (here) — what the AutoTiler model source lists: one :class:`AtLayer` per
   generator call with its exact arguments, the graph's tensors (arguments, constants, locals,
   stacked concatenations) and the nodes' bindings;
3. the rendered files: ``templates/<output>.j2`` with a context built in Python
   (:mod:`fmas_hw.gap8.render`, from :func:`generator_arguments` for the calls); the templates
   only place values.

Lowering rules (gap8-toolchain.md §1.4, §2): conv/pointwise/depthwise ->
``CNN_ConvolutionPoolAct_SQ8`` (dilation through ``Dcx/Dcy``, asymmetric "same" padding through a
``PADTYPE`` generator control, ``ENABLEIM2COL`` on 1x1 convolutions as NNTool sets it), average pooling -> ``CNN_PoolAct_SQ8``, residual add ->
``CNN_MatAddAct_SQ8``, stand-alone ReLU -> ``CNN_Act_SQ8``, upsampling ->
``GenerateResizeMultiChannel`` (a 1x1 input with the channels moved into the unchanged axis), channel concatenation -> ``AddStackedTensors`` (no kernel). The
SDK has no crop generator: a crop directly after an upsampling (how the adaptations round a
non-integer factor up) is merged into the resize, which then writes the cropped size; any other
crop is refused with an :class:`~fmas_hw.errors.ExportError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ExportError
from .graph import Gap8Graph, Node
from .naming import c_comment, node_names

ACTIVATIONS = {"none": "KOP_NONE", "relu": "KOP_RELU", "relu6": "KOP_RELUN"}
RESIZE_KOPS = {"nearest": "KOP_NEAREST_NEIGHBOR_RESIZE", "bilinear": "KOP_BILINEAR_RESIZE"}
#: Generators without the SQ8 generators' ``CNN_GenControl_T *Ctrl`` after the name
#: (``ResizeGenerator.h``).
NO_CTRL_GENERATORS = frozenset({"GenerateResizeMultiChannel"})
#: AutoTiler padding types: total padding -> (left/top, right/bottom); the first is its default.
PAD_TYPES = {
    "PAD_BALANCED_LEFT": lambda t: (t - t // 2, t // 2),
    "PAD_BALANCED_RIGHT": lambda t: (t // 2, t - t // 2),
    "PAD_LEFT": lambda t: (t, 0),
    "PAD_RIGHT": lambda t: (0, t),
}
#: Constant roles in binding order: (C name suffix, C element type, bits).
CONST_ROLES = {
    "weights": ("Weights", "signed char", 8),
    "biases": ("Biases", "signed int", 32),
    "mul_scale": ("Mul_scale", "unsigned char", 8),
    "mul_shift": ("Mul_shift", "signed char", 8),
    "infos": ("Infos", "signed char", 8),
}
INPUT_TENSOR, OUTPUT_TENSOR = "Input_1", "Output_1"


@dataclass
class AtLayer:
    """One AutoTiler generator call and its graph node.

    Attributes:
        name: C node name (``S<step>_<keras name>``).
        ir: IR node names covered (the node, plus a crop merged into a resize).
        generator: generator function called.
        args: the call's arguments after the name and the Ctrl, as C text.
        ctrl: ``CNN_GenControl_T`` settings ``(key, value)``; empty: ``Ctrl = 0``.
        bindings: ``(GNA_IN|GNA_OUT, tensor)`` in the kernel's signature order.
        comment: one-line description (Keras layers, shapes).
    """

    name: str
    ir: tuple[str, ...]
    generator: str
    args: list[str]
    ctrl: list[tuple[str, str]] = field(default_factory=list)
    bindings: list[tuple[str, str]] = field(default_factory=list)
    comment: str = ""


@dataclass(frozen=True)
class ConstTensor:
    """A constant graph tensor and the file ``ConstInfo`` reads it from."""

    name: str
    ctype: str
    bits: int
    node: str
    role: str


@dataclass
class AtModel:
    """Everything the AutoTiler model source lists, in order."""

    layers: list[AtLayer]
    consts: list[ConstTensor]
    locals: list[str]
    stacks: list[tuple[str, list[str]]]
    input_shape: tuple[int, int, int]
    output_shape: tuple[int, int, int]


# ---- lowering ---------------------------------------------------------------------------------


def _total_pad(size: int, kernel: int, stride: int, dilation: int) -> int:
    """AutoTiler's ``CNN_TotalPaddingValue`` (TF "same" total padding)."""
    extent = dilation * (kernel - 1) + 1
    return max(extent - (stride if size % stride == 0 else size % stride), 0)


def _out_size(size: int, kernel: int, stride: int, dilation: int, pad: int) -> int:
    return (size - (dilation * (kernel - 1) + 1) + pad) // stride + 1


def conv_padding(node: Node) -> tuple[int, str | None]:
    """``ConvPad`` and the ``PADTYPE`` (None: the default) reproducing the node's padding.

    The AutoTiler pads "same" style only, split by the padding type; a split reproduces the node
    when it pads the same rows/columns on the top/left and yields the node's output size.

    Raises:
        ExportError: no AutoTiler padding reproduces the node's padding.
    """
    (h, w, _), (oh, ow, _) = node.in_shape, node.out_shape
    (ky, kx), (sy, sx), (dy, dx) = node.kernel, node.stride, node.dilation
    top, _, left, _ = node.padding
    if not any(node.padding):
        if (_out_size(h, ky, sy, dy, 0), _out_size(w, kx, sx, dx, 0)) == (oh, ow):
            return 0, None
    else:
        th, tw = _total_pad(h, ky, sy, dy), _total_pad(w, kx, sx, dx)
        same_out = (_out_size(h, ky, sy, dy, th), _out_size(w, kx, sx, dx, tw)) == (oh, ow)
        for i, (pad_type, split) in enumerate(PAD_TYPES.items()):
            if same_out and split(th)[0] == top and split(tw)[0] == left:
                return 1, None if i == 0 else pad_type
    raise ExportError(
        f"layer '{node.name}': padding {node.padding} (top, bottom, left, right) with kernel "
        f"{node.kernel}, stride {node.stride}, dilation {node.dilation} on {h}x{w} -> {oh}x{ow} "
        "cannot be expressed with the AutoTiler's 'same' padding (ConvPad + PADTYPE)")


def _conv_ctrl(node: Node, pad_type: str | None) -> list[tuple[str, str]]:
    """The generator controls of a convolution, as the SDK's own flow (NNTool) sets them.

    NNTool (``generators/mult8/conv_pool_mult8.py``) sets ``ENABLEIM2COL=1`` on every 1x1
    standard convolution: ``CNN_ConvolutionPoolAct_SQ8`` then maps it onto the MatMul kernels
    when no pooling is fused and the kernel is undilated (it falls back to the convolution
    kernels by itself when the MatMul tiling has no solution), which is faster on GAP8.
    """
    ctrl = [("PADTYPE", pad_type)] if pad_type else []
    if node.op == "conv" and node.kernel == (1, 1):
        ctrl.append(("ENABLEIM2COL", "1"))
    return ctrl


def _conv_call(node: Node, out_shape: tuple[int, int, int]) -> tuple[str, list, list]:
    conv_pad, pad_type = conv_padding(node)
    h, w, c_in = node.in_shape
    kop = "KOP_CONV_DW" if node.op == "depthwise" else "KOP_CONV"
    args = [4, 1, c_in, out_shape[2], w, h, kop, node.kernel[1], node.kernel[0],
            node.dilation[1], node.dilation[0], node.stride[1], node.stride[0], conv_pad,
            "KOP_NONE", 0, 0, 0, 0, 0, 0, 0, ACTIVATIONS[node.activation]]
    return "CNN_ConvolutionPoolAct_SQ8", args, _conv_ctrl(node, pad_type)


def _pool_call(node: Node, out_shape: tuple[int, int, int]) -> tuple[str, list, list]:
    h, w, c = node.in_shape
    (ky, kx), (sy, sx) = node.kernel, node.stride
    if any(node.padding) or (_out_size(h, ky, sy, 1, 0), _out_size(w, kx, sx, 1, 0)) != out_shape[:2]:
        raise ExportError(f"layer '{node.name}': only 'valid' average pooling is supported")
    args = [c, w, h, "KOP_AVGPOOL", kx, ky, 1, 1, sx, sy, 0, ACTIVATIONS[node.activation]]
    return "CNN_PoolAct_SQ8", args, []


def resize_geometry(node: Node, out_shape: tuple[int, int, int]) -> tuple[int, int, int, int, int]:
    """``(Win, Hin, Wout, Hout, Channels)`` of the resize generator for an upsampling node.

    The AutoTiler finds no tiling for a 1x1 input (NNTool,
    ``generators/general/resizer.py``). A 1x1xC input resized along one axis only is, in the
    CHW layout, one C-row (or C-column) image resized along the other: it is lowered so, with
    the channels in the axis that does not change, as NNTool does (a 1x1 -> 1x1 copy too). Resizing both axes of a 1x1
    input has no such form (:func:`fmas_hw.gap8.adapt.adapt` splits it into two resizes).

    Raises:
        ExportError: a 1x1 input resized along both axes.
    """
    (h, w, c), (oh, ow, _) = node.in_shape, out_shape
    if (h, w) != (1, 1):
        return w, h, ow, oh, c
    if oh == 1:
        return w, c, ow, c, 1
    if ow == 1:
        return c, h, c, oh, 1
    raise ExportError(
        f"layer '{node.name}': resizing a 1x1x{c} input to {oh}x{ow} has no AutoTiler tiling; "
        f"split it into a 1x{ow} and an {oh}x1 upsampling (fmas_hw.gap8.adapt does so)")


def _resize_call(node: Node, out_shape: tuple[int, int, int]) -> tuple[str, list, list]:
    args = [*resize_geometry(node, out_shape), "SIGNED_INOUT", RESIZE_KOPS[node.interpolation]]
    return "GenerateResizeMultiChannel", args, []


def _call(node: Node, out_shape: tuple[int, int, int]) -> tuple[str, list, list]:
    h, w, c = node.out_shape
    if node.op in ("conv", "depthwise"):
        return _conv_call(node, out_shape)
    if node.op == "avgpool":
        return _pool_call(node, out_shape)
    if node.op == "upsample":
        return _resize_call(node, out_shape)
    if node.op == "add":
        return "CNN_MatAddAct_SQ8", [c, w, h, "KOP_MATADD", ACTIVATIONS[node.activation]], []
    if node.op == "act":
        return "CNN_Act_SQ8", [c, w, h, ACTIVATIONS[node.activation]], []
    raise ExportError(f"layer '{node.name}': no AutoTiler generator for op '{node.op}'")


class _Lowering:
    """One pass over the graph building the :class:`AtModel`."""

    def __init__(self, graph: Gap8Graph, roles: dict[str, list[str]]):
        self.graph = graph
        self.roles = roles  # node -> constant roles it has (from the quantisation)
        names = [n.name for n in graph]
        self.names = dict(zip(names, node_names(names), strict=True))
        self.consumers = {n.name: [m for m in graph if n.name in m.inputs] for n in graph}
        self.merged = self._merged_crops()
        self.tensor = {"input": INPUT_TENSOR}
        self.model = AtModel([], [], [], [], graph.input_shape, graph.node(graph.output).out_shape)

    def _merged_crops(self) -> dict[str, Node]:
        """upsample node name -> the crop merged into it."""
        merged = {}
        for node in (n for n in self.graph if n.op == "crop"):
            src = self.graph.node(node.inputs[0]) if node.inputs[0] != "input" else None
            if src is None or src.op != "upsample" or len(self.consumers[src.name]) != 1 or node.crop[0] or node.crop[2]:
                raise ExportError(
                    f"layer '{node.name}': the AutoTiler has no crop generator; only a bottom/right "
                    "crop directly after an upsampling is supported (merged into the resize)")
            merged[src.name] = node
        return merged

    def _out_tensor(self, node: Node) -> str:
        last = self.merged.get(node.name, node)
        name = OUTPUT_TENSOR if last.name == self.graph.output else f"{self.names[node.name].split('_')[0]}_Output"
        self.tensor[node.name] = self.tensor[last.name] = name
        if name != OUTPUT_TENSOR:
            self.model.locals.append(name)
        return name

    def _consts(self, node: Node, at_name: str) -> dict[str, str]:
        step = at_name.split("_")[0]
        out = {}
        for role in self.roles.get(node.name, []):
            suffix, ctype, bits = CONST_ROLES[role]
            tensor = ConstTensor(f"{step}_{suffix}", ctype, bits, node.name, role)
            self.model.consts.append(tensor)
            out[role] = tensor.name
        return out

    def _stack(self, node: Node) -> None:
        out = self._out_tensor(node)
        if out == OUTPUT_TENSOR or any(i == "input" or self.graph.node(i).op == "concat" for i in node.inputs):
            raise ExportError(f"layer '{node.name}': a concatenation of the graph input/output or of "
                              "another concatenation cannot be a stacked tensor")
        ins = [self.tensor[i] for i in node.inputs]
        if {t for _, stack in self.model.stacks for t in stack} & set(ins):
            raise ExportError(f"layer '{node.name}': a tensor cannot be stacked into two concatenations")
        self.model.stacks.append((out, ins))

    def _layer(self, node: Node) -> None:
        crop = self.merged.get(node.name)
        out_shape = crop.out_shape if crop else node.out_shape
        generator, args, ctrl = _call(node, out_shape)
        name = self.names[node.name]
        consts = self._consts(node, name)
        ins = [("GNA_IN", self.tensor[i]) for i in node.inputs]
        out = ("GNA_OUT", self._out_tensor(node))
        if node.op in ("conv", "depthwise"):
            binds = ins + [("GNA_IN", consts["weights"]), ("GNA_IN", consts["biases"]), out,
                           ("GNA_IN", consts["mul_scale"]), ("GNA_IN", consts["mul_shift"])]
        else:
            binds = ins + [out]
        binds += [("GNA_IN", consts["infos"])] if "infos" in consts else []
        keras = ", ".join(node.keras_layers + (crop.keras_layers if crop else []))
        comment = c_comment(f"{keras}: {'x'.join(map(str, node.in_shape))} -> {'x'.join(map(str, out_shape))}")
        self.model.layers.append(AtLayer(name, (node.name,) + ((crop.name,) if crop else ()),
                                         generator, [str(a) for a in args], ctrl, binds, comment))

    def run(self) -> AtModel:
        for node in self.graph:
            if node.op == "concat":
                self._stack(node)
            elif node.op != "crop":  # crops are merged into their resize
                self._layer(node)
        if self.graph.output not in self.tensor or self.tensor[self.graph.output] != OUTPUT_TENSOR:
            raise ExportError(f"the graph output '{self.graph.output}' is not produced by a kernel")
        return self.model


def lower(graph: Gap8Graph, roles: dict[str, list[str]]) -> AtModel:
    """Lower ``graph`` to AutoTiler generator calls and graph tensors.

    Args:
        graph: the fused layer graph.
        roles: per node, the constant roles its quantisation produced (e.g. ``["weights",
            "biases", "mul_scale", "mul_shift", "infos"]`` for a convolution).

    Returns:
        The model source's content.

    Raises:
        ExportError: a layer the AutoTiler cannot express (naming it and why).
    """
    return _Lowering(graph, roles).run()


def ctrl_variable(layer: AtLayer) -> str:
    """The C variable holding the layer's generator controls (``gen_ctrl_<name>``)."""
    return f"gen_ctrl_{layer.name}"


def generator_arguments(layer: AtLayer) -> list[str]:
    """Every argument of the layer's generator call as C text, in the prototype's order.

    The node name (a C string), then, for the generators that take one, the ``Ctrl``: ``0``
    without settings, else the address of :func:`ctrl_variable`; then :attr:`AtLayer.args`.
    Deciding this here keeps the template free of generator names.
    """
    ctrl = [] if layer.generator in NO_CTRL_GENERATORS else [
        f"&{ctrl_variable(layer)}" if layer.ctrl else "0"]
    return [f'"{layer.name}"', *ctrl, *layer.args]
