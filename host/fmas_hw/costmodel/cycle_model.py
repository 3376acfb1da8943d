"""The analytical GAP8 cycle model: per-layer cycles from the fused graph and its memory plan.

Per fused layer (AutoTiler SQ8 kernel on the 8-core cluster) the model adds a fixed layer cost
to the longest of three overlapped activities — compute (operations / the kernel kind's
throughput, plus a per-tile cost), the L2 <-> L1 tile traffic of the cluster DMA and the
HyperRAM traffic of spilled activations and streamed constants — and the part of the data
movement double buffering cannot hide (the first tile, and a share of the L3 transfers)::

    cycles = layer + max(compute, l1, l3) + l1 / tiles + l3_exposed_fraction * l3

Concatenations are stacked tensors and crops after a resize are merged into it (no kernel,
0 cycles). The network total is one global
``scale`` times the sum. Constants live in ``hw/gap8_cycle_model.toml`` (each with its source and
the calibration of the scale); ``FMAS_CYCLE_MODEL`` or an explicit path selects a refitted file
written by ``fmas-hw calibrate``.

The model depends on stride (smaller maps, slower strided depthwise), dilation (slower generic
depthwise kernel, taller input bands, more tiles), depth (every layer costs), kernel kind (a
depthwise MAC costs ~3x a pointwise one) and memory traffic (spilled tensors) — not on MACs alone.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..resources import hw_file

if TYPE_CHECKING:
    from ..gap8.graph import Gap8Graph, Node
    from ..gap8.memory import LayerMemory, MemoryPlan

#: Environment variable naming a cycle-model file to use instead of the packaged one.
ENV_MODEL = "FMAS_CYCLE_MODEL"
DEFAULT_MODEL_FILE = "gap8_cycle_model.toml"
SCHEMA = 1

#: TOML section of every constant (the flat parameter names are unique).
SECTIONS: dict[str, tuple[str, ...]] = {
    "compute": (
        "conv_peak_macs_per_cycle", "conv_half_in_channels", "depthwise_macs_per_cycle",
        "depthwise_stride_penalty", "depthwise_dilated_factor", "avgpool_ops_per_cycle",
        "add_ops_per_cycle", "act_ops_per_cycle", "upsample_nearest_outputs_per_cycle",
        "upsample_bilinear_outputs_per_cycle", "copy_bytes_per_cycle",
    ),
    "overhead": ("layer_cycles", "tile_cycles"),
    "dma": ("l1_bytes_per_cycle", "l3_bytes_per_cycle", "l3_exposed_fraction"),
}
PARAMS: tuple[str, ...] = tuple(k for keys in SECTIONS.values() for k in keys)
#: Constants measured in cycles; the other non-ratio constants are per-cycle rates.
CYCLE_PARAMS = ("layer_cycles", "tile_cycles")
#: Dimensionless constants (unchanged when the model is rescaled).
RATIO_PARAMS = ("conv_half_in_channels", "depthwise_stride_penalty", "depthwise_dilated_factor",
                "l3_exposed_fraction")
#: Layer kinds the model knows ('pointwise' is accepted as a 'conv' in measurement files).
KINDS = ("conv", "depthwise", "avgpool", "upsample", "add", "concat", "crop", "act")


@dataclass(frozen=True)
class CycleModel:
    """The constants of the cycle model.

    Attributes:
        name: model name (changes when refitted).
        scale: the global scale applied to the sum of the layers.
        params: every constant of :data:`PARAMS`, by name.
        cores: cluster cores (output-channel balance of convolutions).
        source: file the model was read from.
    """

    name: str
    scale: float
    params: dict[str, float]
    cores: int = 8
    source: str = ""

    def with_params(self, **changes: float) -> CycleModel:
        """A copy with some constants (or ``scale``) replaced."""
        scale = changes.pop("scale", self.scale)
        return replace(self, scale=scale, params={**self.params, **changes})


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def rescaled(model: CycleModel, scale: float) -> CycleModel:
    """The same predictions with another global scale.

    ``scale * sum(cycles)`` is unchanged when every cycle constant is multiplied and every rate
    divided by ``model.scale / scale`` (ratios stay): the scale and the constants are one degree
    of freedom, which is how a refit turns "scale x published rates" into hardware rates.
    """
    factor = model.scale / scale
    params = {k: v if k in RATIO_PARAMS else v * factor if k in CYCLE_PARAMS else v / factor
              for k, v in model.params.items()}
    return replace(model, scale=scale, params=params)


def model_path(path: str | Path | None = None) -> Path:
    """The cycle-model file: ``path``, else ``$FMAS_CYCLE_MODEL``, else the packaged one."""
    chosen = path or os.environ.get(ENV_MODEL)
    return Path(chosen) if chosen else hw_file(DEFAULT_MODEL_FILE)


def model_identity(path: str | Path | None = None) -> str:
    """``<file name>@<12 hex digits of its content>`` of the cycle model :func:`model_path` picks.

    Raises:
        ConfigError: the file cannot be read.
    """
    file = model_path(path)
    try:
        digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
    except OSError as exc:
        raise ConfigError(f"cannot read the cycle model {file}: {exc}; unset {ENV_MODEL} or fix the path") from exc
    return f"{file.name}@{digest}"


def load_cycle_model(path: str | Path | None = None) -> CycleModel:
    """Read a cycle-model TOML (see :func:`model_path` for which one).

    Raises:
        ConfigError: the file is missing, unreadable, of another schema, or a constant is
            missing or not a positive number.
    """
    from ..hw import load as load_hw

    file = model_path(path)
    try:
        data = tomllib.loads(file.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the cycle model {file}: {exc}; pass a file written by "
                          f"`fmas-hw calibrate` or unset {ENV_MODEL}") from exc
    if data.get("schema") != SCHEMA:
        raise ConfigError(f"cycle model {file} has schema {data.get('schema')!r}, expected {SCHEMA}")
    params = {}
    for section, keys in SECTIONS.items():
        for key in keys:
            value = data.get(section, {}).get(key)
            if not _positive(value):
                raise ConfigError(f"cycle model {file}: [{section}] {key} must be a positive number, "
                                  f"got {value!r}")
            params[key] = float(value)
    scale = data.get("model", {}).get("scale")
    if not _positive(scale):
        raise ConfigError(f"cycle model {file}: [model] scale must be a positive number, got {scale!r}")
    return CycleModel(str(data["model"].get("name", file.stem)), float(scale), params,
                      int(load_hw()["chip"]["cluster_cores"]), str(file))


def write_cycle_model(model: CycleModel, path: str | Path, notes: list[str] | None = None) -> Path:
    """Write ``model`` as a cycle-model TOML that :func:`load_cycle_model` reads back.

    Args:
        model: the constants.
        path: output file.
        notes: comment lines (provenance of a refit) written at the top.
    """
    lines = [f"# {line}" for line in (notes or [])]
    lines += ["", f"schema = {SCHEMA}", "", "[model]", f'name = "{model.name}"', f"scale = {model.scale!r}"]
    for section, keys in SECTIONS.items():
        lines += ["", f"[{section}]"] + [f"{key} = {model.params[key]!r}" for key in keys]
    out = Path(path)
    out.write_text("\n".join(lines) + "\n")
    return out


# -- per-layer features -------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerFeatures:
    """What the model needs to know about one layer (also the calibration record).

    Attributes:
        name: layer (graph node) name.
        kind: one of :data:`KINDS`.
        ops: MACs for conv/depthwise/avgpool (AutoTiler's "operations"), output elements for
            add/act/upsample, bytes for crop.
        in_channels, out_channels: channel counts.
        stride, dilation: of a depthwise layer (1 otherwise).
        interpolation: 'nearest' or 'bilinear' for upsample.
        tiles: L1 tiles the layer runs in.
        l1_bytes: L2 <-> L1 DMA bytes.
        l3_bytes: HyperRAM bytes (spilled activations, streamed constants).
        runs: False for layers that run no kernel (stacked concatenations, crops merged into
            their resize): 0 cycles, left out of per-layer reports.
        extra: what the model does not use but the hardware may: for a layer of a graph,
            :func:`layer_geometry` (shapes, kernel, tile, placement), which keys the per-layer
            cache of measured cycles (:mod:`.layer_cache`). Not compared, not in :meth:`to_dict`.
    """

    name: str
    kind: str
    ops: int
    in_channels: int = 64
    out_channels: int = 64
    stride: int = 1
    dilation: int = 1
    interpolation: str = "nearest"
    tiles: int = 1
    l1_bytes: int = 0
    l3_bytes: int = 0
    runs: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain form (a calibration record without ``cycles``)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}


def _ops(node: Node) -> int:
    h, w, c = node.out_shape
    if node.op in ("conv", "depthwise", "avgpool"):
        return node.macs
    return h * w * c  # element-wise kinds and resizes: one op per output byte


def layer_geometry(node: Node, row: LayerMemory) -> dict[str, Any]:
    """The layer's configuration beyond what the model uses (:attr:`LayerFeatures.extra`).

    Two layers with equal model features can still run different AutoTiler kernels (a 3x3
    convolution on a small map and a 1x1 on a large one can have equal MACs), so measured
    cycles are only reused for layers equal in all of this too.
    """
    tile = row.tile
    return {"in_shape": tuple(node.in_shape), "out_shape": tuple(node.out_shape),
            "kernel": tuple(node.kernel), "strides": tuple(node.stride), "dilations": tuple(node.dilation),
            "padding": tuple(node.padding), "activation": node.activation,
            "tile_shape": (tile.rows, tile.channels, tile.in_channels) if tile else None,
            "tile_bytes": tile.bytes if tile else None, "weights_in_l2": row.weights_in_l2,
            "in_l3_bytes": row.in_l3_bytes, "out_l3_bytes": row.out_l3_bytes}


def layer_features(node: Node, row: LayerMemory) -> LayerFeatures:
    """Features of one graph node with its memory-plan row (its geometry in ``extra``)."""
    tile = row.tile
    return LayerFeatures(
        name=node.name, kind=node.op, ops=_ops(node), in_channels=node.in_shape[2],
        out_channels=node.out_shape[2], stride=max(node.stride) if node.op == "depthwise" else 1,
        dilation=max(node.dilation) if node.op == "depthwise" else 1,
        interpolation=node.interpolation, tiles=tile.count if tile else 1,
        l1_bytes=tile.traffic if tile else 0, l3_bytes=row.l3_bytes,
        runs=node.op != "concat" and row.merged_into is None, extra=layer_geometry(node, row))


def graph_features(graph: Gap8Graph, plan: MemoryPlan) -> list[LayerFeatures]:
    """Features of every layer of ``graph`` in execution order (as GAP8 runs them: a resize
    with a merged crop produces the cropped size)."""
    from ..gap8.memory import effective_nodes

    return [layer_features(node, row) for node, row in zip(effective_nodes(graph), plan.layers, strict=True)]


# -- cycles ---------------------------------------------------------------------------------------


def rate(f: LayerFeatures, p: dict[str, float], cores: int = 8) -> float:
    """Operations per cycle of the layer's kernel on the cluster (see the TOML for sources)."""
    kind = "conv" if f.kind == "pointwise" else f.kind
    if kind == "conv":
        balance = f.out_channels / (cores * math.ceil(f.out_channels / cores))
        cin = f.in_channels
        return p["conv_peak_macs_per_cycle"] * cin / (cin + p["conv_half_in_channels"]) * balance
    if kind == "depthwise":
        r = p["depthwise_macs_per_cycle"] / (1.0 + p["depthwise_stride_penalty"] * (f.stride - 1))
        return r * (p["depthwise_dilated_factor"] if f.dilation > 1 else 1.0)
    if kind == "upsample":
        return p[f"upsample_{f.interpolation}_outputs_per_cycle"]
    key = {"avgpool": "avgpool_ops_per_cycle", "add": "add_ops_per_cycle", "act": "act_ops_per_cycle",
           "crop": "copy_bytes_per_cycle"}.get(kind)
    if key is None:
        raise ConfigError(f"layer '{f.name}': unknown kind {f.kind!r}, expected one of {', '.join(KINDS)}")
    return p[key]


def layer_cycles(f: LayerFeatures, p: dict[str, float], cores: int = 8, smooth: float | None = None) -> float:
    """Unscaled cycles of one layer (0 for a layer that runs no kernel).

    Args:
        f: the layer.
        p: the constants.
        cores: cluster cores.
        smooth: replace ``max`` by the p-norm of this order (a smooth stand-in the calibration
            fit starts with, so that it does not stall on the kinks of ``max``).
    """
    if f.kind == "concat" or not f.runs:
        return 0.0
    tiles = max(f.tiles, 1)
    compute = f.ops / rate(f, p, cores) + tiles * p["tile_cycles"]
    l1 = f.l1_bytes / p["l1_bytes_per_cycle"]
    l3 = f.l3_bytes / p["l3_bytes_per_cycle"]
    exposed = l1 / tiles + p["l3_exposed_fraction"] * l3
    body = max(compute, l1, l3) if smooth is None else (compute**smooth + l1**smooth + l3**smooth) ** (1 / smooth)
    return p["layer_cycles"] + body + exposed


def network_cycles(features: list[LayerFeatures], model: CycleModel) -> list[tuple[str, int]]:
    """Scaled cycles of every layer, ``[(name, cycles)]`` in execution order."""
    return [(f.name, round(model.scale * layer_cycles(f, model.params, model.cores))) for f in features]
