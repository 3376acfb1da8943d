"""The GAP8 memory plan of a candidate: what lives in L1, L2 and L3, and whether it fits (SPEC §6.2).

Input is the fused :class:`~fmas_hw.gap8.graph.Gap8Graph` (int8 SQ8 layers in execution order);
:mod:`.arch_graph` plans a candidate from its architecture.
Per layer the plan records the int8 sizes of weights (+ int32 bias, uint8 scale, int8 shift per
output channel), input and output activations, the smallest L1 tile the layer can run with and
the tile the AutoTiler would pick, and where each operand lives.

Rules (budgets from ``hw/gap8.toml``; layout facts from its ``[memory_plan]`` table):

* **Liveness.** A tensor is live from its producer to its last consumer; the network input from
  step 0, the output to the last step. Channel concatenations are AutoTiler *stacked tensors*:
  their inputs are slices of one buffer (no copy), live from the first slice's producer.
* **L2 (activations).** Budget = AutoTiler L2 budget (512 KB minus code, runtime and stacks)
  minus the staging buffers L3 operands are streamed through (``l2_staging_l1_multiple`` x L1).
  While the live L2 tensors of some step exceed it, the largest tensor live at the worst step is
  spilled to L3 HyperRAM (``AT_MEM_L3_HRAM``): the network still runs, slower. L2 overflow is
  therefore never a failure; it is reported and costed by the cycle model.
* **Weights.** Constants live in HyperFlash (the ``_L3_Flash_Const.dat`` file) and are copied to
  HyperRAM by the graph constructor; L2 left over at the activation peak holds promoted
  constants (smallest layers first), the rest are streamed from L3 at every inference.
* **L1 (tiles).** Each layer's minimal and chosen tiles come from :mod:`.tiling`.
  Concatenations need no tile (no kernel), nor do crops that the code generator merges into the
  preceding resize (which writes the cropped size).
* **Fits** means: constants <= HyperFlash, constants kept in L3 + peak spilled activations <=
  the HyperRAM budget, and every minimal tile <= the L1 budget (64 KB minus cluster stacks).

"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..hw import load as load_hw
from .tiling import Tile, min_tile_bytes, plan_tile, tensor_bytes, weight_bytes

if TYPE_CHECKING:
    from .graph import Gap8Graph, Node

KB = 1024


@dataclass(frozen=True)
class Budgets:
    """Memory available to the network on each level, in bytes.

    Attributes:
        l1: cluster L1 for tiles (AutoTiler L1 budget minus master and 7 slave stacks).
        l2: L2 for activations (AutoTiler L2 budget minus the L3 staging buffers).
        l2_total: the AutoTiler L2 budget (activations, staging and promoted constants).
        l3_ram: HyperRAM for constants and spilled activations.
        l3_flash: HyperFlash for the constants file.
    """

    l1: int
    l2: int
    l2_total: int
    l3_ram: int
    l3_flash: int

    @classmethod
    def from_hw(cls, hw: dict[str, Any] | None = None) -> Budgets:
        """Budgets from ``hw/gap8.toml`` with GreenWaves' formulas (model_decl.mk)."""
        mem = (hw or load_hw())["memory"]
        cores = (hw or load_hw())["chip"]["cluster_cores"]
        # MODEL_L1_MEMORY = TARGET_L1_SIZE - (CLUSTER_STACK_SIZE + 7*CLUSTER_SLAVE_STACK_SIZE)
        l1 = mem["at_l1_budget_bytes"] - mem["cluster_stack_bytes"] - (cores - 1) * mem["cluster_slave_stack_bytes"]
        staging = (hw or load_hw())["memory_plan"]["l2_staging_l1_multiple"] * l1
        return cls(l1=l1, l2=mem["at_l2_budget_bytes"] - staging, l2_total=mem["at_l2_budget_bytes"],
                   l3_ram=mem["at_l3_budget_bytes"], l3_flash=mem["l3_flash_bytes"])


@dataclass(frozen=True)
class LayerMemory:
    """One row of the memory plan.

    Attributes:
        name, op: the graph node.
        weight_bytes: int8 filters + per-channel int32 bias, uint8 scale, int8 shift.
        in_bytes: int8 bytes of all inputs.
        out_bytes: int8 bytes of the output.
        min_tile_bytes: L1 bytes of the smallest tile the layer can run with.
        tile: the tile the plan assumes (``None`` when no kernel runs: stacked concatenations,
            merged crops).
        in_l3_bytes: input bytes read from L3 (spilled tensors).
        out_l3_bytes: output bytes written to L3 (spilled tensor).
        weights_in_l2: True when the layer's constants are promoted to L2.
        merged_into: for a crop merged into its resize, that resize (the crop runs no kernel).
    """

    name: str
    op: str
    weight_bytes: int
    in_bytes: int
    out_bytes: int
    min_tile_bytes: int
    tile: Tile | None
    in_l3_bytes: int = 0
    out_l3_bytes: int = 0
    weights_in_l2: bool = True
    merged_into: str | None = None

    @property
    def l3_bytes(self) -> int:
        """HyperRAM bytes the layer moves per inference (activations + streamed constants)."""
        return self.in_l3_bytes + self.out_l3_bytes + (0 if self.weights_in_l2 else self.weight_bytes)


@dataclass
class MemoryPlan:
    """Where a candidate's tensors live on GAP8 and whether it fits.

    Attributes:
        layers: one :class:`LayerMemory` per graph node, in execution order.
        budgets: the budgets checked.
        weight_bytes: all constants (int8 filters, biases, scales, shifts).
        promoted_weight_bytes: constants kept in L2.
        peak_activation_bytes: peak live activations if everything stayed in L2.
        peak_layer: the layer at which that peak occurs.
        l2_activation_peak: peak live activations kept in L2 (after spilling).
        l3_activation_peak: peak live activations spilled to L3.
        spilled: names of the tensors (producer nodes, 'input') spilled to L3.
        fits: True when GAP8 can run the network (see the module docstring).
        reason: why it fits or not, with the budgets and by how much they are exceeded.
    """

    layers: list[LayerMemory]
    budgets: Budgets
    weight_bytes: int
    promoted_weight_bytes: int
    peak_activation_bytes: int
    peak_layer: str
    l2_activation_peak: int
    l3_activation_peak: int
    spilled: list[str] = field(default_factory=list)
    fits: bool = True
    reason: str = ""

    def row(self, name: str) -> LayerMemory:
        """The row of layer ``name`` (KeyError when absent)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    @property
    def max_min_tile(self) -> LayerMemory:
        """The layer whose minimal tile is largest."""
        return max(self.layers, key=lambda r: r.min_tile_bytes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        out = asdict(self)
        out["layers"] = [asdict(r) | {"l3_bytes": r.l3_bytes} for r in self.layers]
        return out


# -- crops merged into resizes -----------------------------------------------------------------


def merged_crops(graph: Gap8Graph) -> dict[str, str]:
    """Crop node -> the upsampling it is merged into.

    The AutoTiler has no crop generator: the code generator merges a bottom/right crop that
    directly follows an upsampling (how the adaptations round a non-integer factor up) into the
    resize, which then writes the cropped size. Such a crop has no kernel and no buffer.
    """
    consumers: dict[str, int] = {}
    for node in graph.nodes:
        for name in node.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    producers = {n.name: n for n in graph.nodes}
    merged = {}
    for node in graph.nodes:
        src = producers.get(node.inputs[0]) if node.op == "crop" else None
        if src is not None and src.op == "upsample" and consumers.get(src.name) == 1 \
                and node.crop[0] == 0 and node.crop[2] == 0:
            merged[node.name] = src.name
    return merged


def effective_nodes(graph: Gap8Graph) -> list[Node]:
    """The nodes as GAP8 runs them: a resize with a merged crop writes the cropped shape."""
    by_upsample = {up: crop for crop, up in merged_crops(graph).items()}
    shapes = {n.name: n.out_shape for n in graph.nodes}
    return [replace(n, out_shape=shapes[by_upsample[n.name]]) if n.name in by_upsample else n
            for n in graph.nodes]


# -- liveness and spilling ---------------------------------------------------------------------


@dataclass
class _Buffer:
    name: str
    size: int
    start: int
    end: int


def _buffers(graph: Gap8Graph, nodes: list[Node], merged: dict[str, str]) -> tuple[list[_Buffer], dict[str, str]]:
    """Activation buffers with their live ranges, and tensor -> buffer (stacked concat inputs,
    crops merged into their resize)."""
    index = {n.name: i for i, n in enumerate(nodes)}
    owner = {n.name: n.name for n in nodes} | {"input": "input"} | merged
    for node in nodes:
        if node.op == "concat":
            for src in node.inputs:
                owner[src] = node.name
    buffers = {"input": _Buffer("input", tensor_bytes(graph.input_shape), 0, 0)}
    for i, node in enumerate(nodes):
        if owner[node.name] == node.name:
            buffers[node.name] = _Buffer(node.name, tensor_bytes(node.out_shape), i, i)
    for node in nodes:  # stacked buffers start with their first slice
        if node.op == "concat":
            buffers[node.name].start = min(index[s] for s in node.inputs if s != "input")
    for i, node in enumerate(nodes):
        for src in node.inputs:
            buf = buffers[owner[src]]
            buf.end = max(buf.end, i)
    buffers[owner[graph.output]].end = len(nodes) - 1
    return list(buffers.values()), owner


def _live_matrix(buffers: list[_Buffer], steps: int) -> np.ndarray:
    """Boolean (buffers x steps) matrix: buffer b is live at step i."""
    live = np.zeros((len(buffers), steps), dtype=bool)
    for k, b in enumerate(buffers):
        live[k, b.start: b.end + 1] = True
    return live


def _spill(sizes: np.ndarray, live: np.ndarray, budget: int) -> np.ndarray:
    """Mask of the buffers to spill to L3 so that live L2 activations never exceed ``budget``.

    While some step is over budget, the largest buffer live at the worst step leaves L2: the
    fewest, largest tensors go to HyperRAM and the many small ones stay close to the cluster.
    """
    spilled = np.zeros(len(sizes), dtype=bool)
    while True:
        sums = (sizes * ~spilled) @ live
        worst = int(np.argmax(sums))
        if sums[worst] <= budget:
            return spilled
        candidates = np.where(live[:, worst] & ~spilled, sizes, -1)
        spilled[int(np.argmax(candidates))] = True


def _promote(layers: list[LayerMemory], free: int) -> set[str]:
    """Layers whose constants fit in the L2 left free at the activation peak (smallest first)."""
    kept: set[str] = set()
    for row in sorted((r for r in layers if r.weight_bytes), key=lambda r: (r.weight_bytes, r.name)):
        if row.weight_bytes > free:
            break
        kept.add(row.name)
        free -= row.weight_bytes
    return kept


# -- the plan ---------------------------------------------------------------------------------


def plan_memory(graph: Gap8Graph, budgets: Budgets | None = None) -> MemoryPlan:
    """Plan where every tensor of ``graph`` lives on GAP8 and check the budgets.

    Args:
        graph: the fused GAP8 layer graph of a GAP8-adapted candidate.
        budgets: memory budgets; default from ``hw/gap8.toml``.

    Returns:
        The :class:`MemoryPlan` with its ``fits`` verdict and reason.
    """
    budgets = budgets or Budgets.from_hw()
    nodes, merged = effective_nodes(graph), merged_crops(graph)
    buffers, owner = _buffers(graph, nodes, merged)
    sizes = np.array([b.size for b in buffers], dtype=np.int64)
    live = _live_matrix(buffers, len(graph.nodes))
    all_live = sizes @ live
    peak_step = int(np.argmax(all_live))
    mask = _spill(sizes, live, budgets.l2)
    spilled = {b.name for b, m in zip(buffers, mask, strict=True) if m}
    l2_peak = int(((sizes * ~mask) @ live).max())
    rows = [_row(node, budgets, owner, spilled, merged.get(node.name)) for node in nodes]
    promoted = _promote(rows, budgets.l2 - l2_peak)
    rows = [_with_weights(r, r.name in promoted or not r.weight_bytes) for r in rows]
    plan = MemoryPlan(
        layers=rows, budgets=budgets, weight_bytes=sum(r.weight_bytes for r in rows),
        promoted_weight_bytes=sum(r.weight_bytes for r in rows if r.name in promoted),
        peak_activation_bytes=int(all_live[peak_step]), peak_layer=graph.nodes[peak_step].name,
        l2_activation_peak=l2_peak, l3_activation_peak=int(((sizes * mask) @ live).max()),
        spilled=[b.name for b in buffers if b.name in spilled])
    plan.fits, plan.reason = _verdict(plan)
    return plan


def _row(node: Node, budgets: Budgets, owner: dict[str, str], spilled: set[str],
         merged_into: str | None = None) -> LayerMemory:
    if merged_into is not None:  # written by its resize: no kernel, no buffer of its own
        return LayerMemory(node.name, node.op, 0, 0, 0, 0, None, merged_into=merged_into)
    out_bytes = tensor_bytes(node.out_shape)
    # Adds read inputs of equal shape; a stacked concatenation reads nothing (its slices are
    # written in place by their producers).
    in_bytes = out_bytes if node.op == "concat" else len(node.inputs) * tensor_bytes(node.in_shape)
    in_l3 = 0 if node.op == "concat" else sum(
        tensor_bytes(node.in_shape) for src in node.inputs if owner[src] in spilled)
    out_l3 = out_bytes if owner[node.name] in spilled and node.op != "concat" else 0
    return LayerMemory(node.name, node.op, weight_bytes(node), in_bytes, out_bytes,
                       min_tile_bytes(node), plan_tile(node, budgets.l1), in_l3, out_l3)


def _with_weights(row: LayerMemory, in_l2: bool) -> LayerMemory:
    return LayerMemory(**{**row.__dict__, "weights_in_l2": in_l2})


def format_bytes(n: int) -> str:
    """``"41.29 MB"`` / ``"51.5 KB"``: the unit the plan's sentences use."""
    return f"{n / KB / KB:.2f} MB" if n >= KB * KB else f"{n / KB:.1f} KB"


def _verdict(plan: MemoryPlan) -> tuple[bool, str]:
    """(fits, reason) of a plan: every exceeded budget with the layer and by how much."""
    b = plan.budgets
    problems = []
    if plan.weight_bytes > b.l3_flash:
        problems.append(f"constants {format_bytes(plan.weight_bytes)} exceed the HyperFlash "
                        f"{format_bytes(b.l3_flash)} by {format_bytes(plan.weight_bytes - b.l3_flash)}")
    l3_need = plan.weight_bytes - plan.promoted_weight_bytes + plan.l3_activation_peak
    if l3_need > b.l3_ram:
        problems.append(f"L3: constants {format_bytes(plan.weight_bytes - plan.promoted_weight_bytes)} + "
                        f"spilled activations {format_bytes(plan.l3_activation_peak)} exceed the HyperRAM "
                        f"budget {format_bytes(b.l3_ram)} by {format_bytes(l3_need - b.l3_ram)}")
    worst = plan.max_min_tile
    if worst.min_tile_bytes > b.l1:
        over = [r.name for r in plan.layers if r.min_tile_bytes > b.l1]
        problems.append(f"L1: layer '{worst.name}' needs a minimal tile of {format_bytes(worst.min_tile_bytes)}"
                        f" > L1 budget {format_bytes(b.l1)} (by {format_bytes(worst.min_tile_bytes - b.l1)}; "
                        f"{len(over)} layer(s) over)")
    spill = (f"peak activations {format_bytes(plan.peak_activation_bytes)} at '{plan.peak_layer}' vs L2 "
             f"{format_bytes(b.l2)}: " + (f"{len(plan.spilled)} tensor(s) spilled to L3 HyperRAM "
                                  f"(peak {format_bytes(plan.l3_activation_peak)})" if plan.spilled else "all in L2"))
    if problems:
        return False, "does not fit: " + "; ".join(problems) + f" ({spill})"
    return True, (f"fits: constants {format_bytes(plan.weight_bytes)} ({format_bytes(plan.promoted_weight_bytes)} in L2), "
                  f"L3 {format_bytes(l3_need)} / {format_bytes(b.l3_ram)}, {spill}, largest minimal tile "
                  f"{format_bytes(worst.min_tile_bytes)} / {format_bytes(b.l1)} L1")
