"""Both DeepLabV3+ networks written once against a small op interface, for fast interpreters.

The Keras builders (:mod:`.mobilenetv2`, :mod:`.xception`) make the trainable, exportable models.
A search, though, scores hundreds of candidates that differ only in strides, atrous rates and
which residual blocks run, and building a Keras model costs 1.5 s (MobileNetV2) to 5 s (Xception)
per candidate. Here the same networks (same layer names, same order of operations) are written
against :class:`Ops`, and every architecture choice goes through
``ops.choose(key, x, variants, fn)``. Three interpreters run them:

* :mod:`.executor` runs the whole search space as ONE traced TensorFlow function whose choices
  are runtime tensors (``tf.switch_case``) over the supernet's weights, so a new candidate costs
  its forward passes and nothing else;
* :mod:`fmas_hw.eval.counting` walks one candidate with shapes only and returns its parameter
  count and profiler FLOPs in well under a millisecond;
* :mod:`fmas_hw.gap8.netdef_graph` records one candidate's GAP8 layer graph (the network with
  ``gap8=True``, the Keras builders' GAP8-adapted variant), the input of the memory plan and the
  cycle model, in a few milliseconds.

Every op names the Keras layer it stands for (a convolution also its ``<name>_BN``), so an
interpreter can rebuild the Keras layer graph exactly. Tests prove all three agree with the Keras
builders (logits, ``count_params``, profiler FLOPs, the fused GAP8 graph node for node).
Only the search spaces' own values are variants (:func:`choices` refuses other architectures);
hand-made architectures go through the Keras builders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ArchitectureError
from ..space import Arch, MobileNetV2Arch, XceptionArch
from ..space import mobilenetv2 as mspace
from ..space import xception as xspace
from .geometry import BLOCK_FILTERS, EXPANSION, GROUP_FIRST, make_divisible, same_padding


class Ops(Protocol):
    """What a network definition may do to a feature map ``x`` (batch, height, width, channels).

    ``name`` is the Keras builders' name of the layer the op stands for. ``conv`` and
    ``depthwise`` include the BatchNormalization named ``<name>_BN`` when ``norm`` (a depthwise
    always has one). ``global_pool`` and ``resize`` are the two ops the GAP8 adaptations replace
    (:mod:`fmas_hw.gap8.adapt`, adaptations 3 to 5): there ``name`` is what the adapted network
    calls them, the prefix of its ``AveragePooling2D`` chain (``<name>0``, ``<name>1``, ...) and
    its ``UpSampling2D`` (``<name>``, with ``<name>_w`` / ``<name>_crop`` when split or cropped).
    """

    def conv(self, x, name: str, filters: int, kernel: int = 1, stride: int = 1, padding: str = "same",
             norm: bool = True, bias: bool = False): ...
    def depthwise(self, x, name: str, stride: int = 1, rate: int = 1, padding: str = "same"): ...
    def relu(self, x, name: str, cap: float | None = None): ...
    def pad(self, x, name: str, amount: int): ...
    def add(self, a, b, name: str): ...
    def concat(self, xs: Sequence, name: str): ...
    def global_pool(self, x, name: str): ...
    def resize(self, x, name: str, size): ...
    def size_of(self, x): ...
    def channels(self, x) -> int: ...
    def choose(self, key: str, x, variants: Sequence, fn: Callable): ...


@dataclass(frozen=True)
class Choice:
    """A layer parameter chosen by the architecture: ``variants[index of key]``."""

    key: str
    variants: tuple


def pick(ops: Ops, x, value: int | Choice, fn: Callable):
    """``fn(x, value)``, or a choice among ``fn(x, v)`` for every variant when ``value`` is chosen.

    A choice with a single variant is no choice: it has no key in :func:`choices`.
    """
    if isinstance(value, Choice):
        if len(value.variants) == 1:
            return fn(x, value.variants[0])
        return ops.choose(value.key, x, value.variants, fn)
    return fn(x, value)


# -- shared head ---------------------------------------------------------------------------------
def _conv_bn_relu(ops: Ops, x, name: str, filters: int, relu: str = ""):
    return ops.relu(ops.conv(x, name, filters), relu or f"{name}_relu")


def image_pooling(ops: Ops, x):
    """ASPP image-level branch (``image_pooling``), resized back to the feature size."""
    b = _conv_bn_relu(ops, ops.global_pool(x, "image_pooling_avgpool"), "image_pooling", 256)
    return ops.resize(b, "image_pooling_upsample", ops.size_of(x))


def aspp_1x1(ops: Ops, x):
    """ASPP 1x1 branch (``aspp0``)."""
    return _conv_bn_relu(ops, x, "aspp0", 256, relu="aspp0_activation")


def projection(ops: Ops, branches: list):
    """Concatenate the ASPP branches, project to 256 channels (dropout is off at inference)."""
    x = ops.concat(branches, "aspp_concat") if len(branches) > 1 else branches[0]
    return _conv_bn_relu(ops, x, "concat_projection", 256)


def logits(ops: Ops, x, classes: int, input_size: int):
    """1x1 classifier with bias, bilinear upsampling to the input size."""
    x = ops.conv(x, "logits_semantic", classes, norm=False, bias=True)
    return ops.resize(x, "logits_upsample", (input_size, input_size))


# -- MobileNetV2 ---------------------------------------------------------------------------------
def _depthwise_variants(block: int) -> tuple[tuple[int, int], ...]:
    """(stride, dilation) pairs the search space gives ``block``."""
    strides: tuple[int, ...] = dict(mspace.STRIDE_GENES).get(block, (mspace.SUPERNET_STRIDE[block],))
    dilations: tuple[int, ...]
    if block in mspace.DILATION_BIT_GENES:
        dilations = (1, 2)
    elif block in mspace.DILATION_INDEX_GENES:
        dilations = mspace.DILATION_INDEX_VALUES
    else:
        dilations = (mspace.SUPERNET_DILATION[block],)
    return tuple((s, d) for s in strides for d in dilations)


def _inverted_res_body(ops: Ops, x, block: int, alpha: float):
    prefix = f"expanded_conv_{block}_" if block else "expanded_conv_"
    h = x
    if block:
        h = ops.conv(h, prefix + "expand", EXPANSION[block] * ops.channels(x))
        h = ops.relu(h, prefix + "expand_relu", 6.0)
    h = pick(ops, h, Choice(f"b{block}.dw", _depthwise_variants(block)),
             lambda t, sd: ops.depthwise(t, prefix + "depthwise", stride=sd[0], rate=sd[1]))
    h = ops.relu(h, prefix + "depthwise_relu", 6.0)
    return ops.conv(h, prefix + "project", make_divisible(BLOCK_FILTERS[block] * alpha))


def _inverted_res_block(ops: Ops, x, block: int, alpha: float):
    if block in GROUP_FIRST:
        return _inverted_res_body(ops, x, block, alpha)

    def residual(t, kept: bool):
        return ops.add(t, _inverted_res_body(ops, t, block, alpha), f"expanded_conv_{block}_add") if kept else t

    return ops.choose(f"b{block}", x, (False, True), residual)


def mobilenetv2(ops: Ops, x, classes: int, input_size: int, alpha: float = 1.0, gap8: bool = False):
    """DeepLabV3+ / MobileNetV2, output stride 8, as :func:`~.mobilenetv2.build_mobilenetv2`.

    ``gap8`` changes nothing in this layout (its ASPP has no separable branches to prune); the
    GAP8 interpreter lowers ``global_pool`` and ``resize`` itself.
    """
    x = ops.relu(ops.conv(x, "Conv", make_divisible(32 * alpha), kernel=3, stride=2), "Conv_Relu6", 6.0)
    for block in range(mspace.N_BLOCKS):
        x = _inverted_res_block(ops, x, block, alpha)
    x = projection(ops, [image_pooling(ops, x), aspp_1x1(ops, x)])
    return logits(ops, x, classes, input_size)


def _mobilenetv2_choices(arch: MobileNetV2Arch) -> dict[str, int]:
    by_block = {layer.block: layer for layer in arch.layers}
    out = {}
    for block in range(mspace.N_BLOCKS):
        layer = by_block.get(block)
        if block not in GROUP_FIRST:
            out[f"b{block}"] = int(layer is not None)
        variants = _depthwise_variants(block)
        if layer is not None:
            index = _index(variants, (layer.stride, layer.dilation), arch)
            if len(variants) > 1:
                out[f"b{block}.dw"] = index
    return out


# -- Modified Xception ---------------------------------------------------------------------------
def sep_conv_bn(ops: Ops, x, filters: int, prefix: str, stride: int | Choice = 1, rate: int | Choice = 1,
                depth_activation: bool = False):
    """Depthwise-separable conv with BN after each half (``SepConv_BN``).

    A strided one pads explicitly and runs 'valid' (DeepLab's 'same'); the pre-activation comes
    after that padding, as in the Keras builder (the GAP8 fusion treats a ReLU after a padding
    differently from one after a convolution).
    """

    def depthwise(t, s, r):
        if s > 1:
            t = ops.pad(t, f"{prefix}_pad", same_padding(3, r)[0])
        if not depth_activation:
            t = ops.relu(t, f"{prefix}_prerelu")
        return ops.depthwise(t, f"{prefix}_depthwise", stride=s, rate=r, padding="same" if s == 1 else "valid")

    x = pick(ops, x, stride, lambda t, s: pick(ops, t, rate, lambda u, r: depthwise(u, s, r)))
    if depth_activation:
        x = ops.relu(x, f"{prefix}_depthwise_relu")
    x = ops.conv(x, f"{prefix}_pointwise", filters)
    return ops.relu(x, f"{prefix}_pointwise_relu") if depth_activation else x


def _shortcut(ops: Ops, x, filters: int, name: str, stride: int | Choice):
    # conv2d_same with a 1x1 kernel: no padding; strided runs 'valid'.
    return pick(ops, x, stride, lambda t, s: ops.conv(t, name, filters, stride=s,
                                                      padding="same" if s == 1 else "valid"))


def xception_block(ops: Ops, x, depths, prefix: str, skip: str, stride: int | Choice = 1,
                   rate: int | Choice = 1, depth_activation: bool = False):
    """Three separable convs with a conv / sum / no shortcut; returns (output, second conv)."""
    residual, low_level = x, None
    for i in range(3):
        residual = sep_conv_bn(ops, residual, depths[i], f"{prefix}_separable_conv{i + 1}",
                               stride=stride if i == 2 else 1, rate=rate, depth_activation=depth_activation)
        if i == 1:
            low_level = residual
    if skip == "conv":
        residual = ops.add(residual, _shortcut(ops, x, depths[-1], f"{prefix}_shortcut", stride), f"{prefix}_add")
    elif skip == "sum":
        residual = ops.add(residual, x, f"{prefix}_add")
    return residual, low_level


def _middle_unit(ops: Ops, x, unit: int):
    rate = Choice("middle_rate", xspace.MIDDLE_RATES)
    return xception_block(ops, x, [728] * 3, f"middle_flow_unit_{unit}", "sum", rate=rate)[0]


def xception(ops: Ops, x, classes: int, input_size: int, alpha: float = 1.0, gap8: bool = False):
    """DeepLabV3+ / Modified Xception, as :func:`~.xception.build_xception`.

    With ``gap8`` the ASPP keeps only its image-pooling and 1x1 branches (GAP8 adaptation 2).

    Raises:
        ArchitectureError: ``alpha`` is not 1 (the backbone has no width multiplier).
    """
    if alpha != 1.0:
        raise ArchitectureError("the Xception backbone has no width multiplier: use --alpha 1")
    x = ops.relu(ops.conv(x, "entry_flow_conv1_1", 32, kernel=3, stride=2), "entry_flow_conv1_1_relu")
    x = ops.relu(ops.conv(x, "entry_flow_conv1_2", 64, kernel=3), "entry_flow_conv1_2_relu")
    x, _ = xception_block(ops, x, [128] * 3, "entry_flow_block1", "conv", stride=2)
    x, low_level = xception_block(ops, x, [256] * 3, "entry_flow_block2", "conv", stride=2)
    x, _ = xception_block(ops, x, [728] * 3, "entry_flow_block3", "conv",
                          stride=Choice("entry_stride", xspace.ENTRY_STRIDES))
    for unit in range(1, xspace.N_MIDDLE_BLOCKS + 1):
        x = ops.choose(f"middle{unit}", x, (False, True),
                       lambda t, kept, u=unit: _middle_unit(ops, t, u) if kept else t)
    exit_rates = [Choice("exit_rates", tuple(r[i] for r in xspace.EXIT_RATES)) for i in range(2)]
    x, _ = xception_block(ops, x, [728, 1024, 1024], "exit_flow_block1", "conv", rate=exit_rates[0])
    x, _ = xception_block(ops, x, [1536, 1536, 2048], "exit_flow_block2", "none", rate=exit_rates[1],
                          depth_activation=True)
    branches = [image_pooling(ops, x), aspp_1x1(ops, x)]
    for i in range(0 if gap8 else 3):
        rate = Choice("aspp_rates", tuple(r[i] for r in xspace.ASPP_RATES))
        branches.append(sep_conv_bn(ops, x, 256, f"aspp{i + 1}", rate=rate, depth_activation=True))
    x = projection(ops, branches)
    x = _decoder(ops, x, low_level)
    return logits(ops, x, classes, input_size)


def _decoder(ops: Ops, x, low_level):
    x = ops.resize(x, "decoder_upsample", ops.size_of(low_level))
    skip = _conv_bn_relu(ops, low_level, "feature_projection0", 48)
    x = ops.concat([x, skip], "decoder_concat")
    x = sep_conv_bn(ops, x, 256, "decoder_conv0", depth_activation=True)
    return sep_conv_bn(ops, x, 256, "decoder_conv1", depth_activation=True)


def _xception_choices(arch: XceptionArch) -> dict[str, int]:
    out = {
        "entry_stride": _index(xspace.ENTRY_STRIDES, arch.entry_stride, arch),
        "middle_rate": _index(xspace.MIDDLE_RATES, arch.middle_rate, arch),
        "exit_rates": _index(xspace.EXIT_RATES, tuple(arch.exit_rates), arch),
        "aspp_rates": _index(xspace.ASPP_RATES, tuple(arch.aspp_rates), arch),
    }
    return out | {f"middle{u}": int(u in arch.middle_blocks) for u in range(1, xspace.N_MIDDLE_BLOCKS + 1)}


# -- dispatch ------------------------------------------------------------------------------------
NETWORKS: dict[str, Callable[..., Any]] = {"mobilenetv2": mobilenetv2, "xception": xception}


def _index(variants: Sequence, value, arch: Arch) -> int:
    if value not in variants:
        raise ArchitectureError(f"{value} is not a value of the {arch.backbone} search space "
                                f"(one of {list(variants)}); build this architecture with the Keras builder")
    return list(variants).index(value)


def choices(arch: Arch) -> dict[str, int]:
    """The variant index of every choice the network definition makes for ``arch``.

    Raises:
        ArchitectureError: ``arch`` uses a stride or rate outside its search space.
    """
    if isinstance(arch, MobileNetV2Arch):
        return _mobilenetv2_choices(arch)
    if isinstance(arch, XceptionArch):
        return _xception_choices(arch)
    raise ArchitectureError(f"no network definition for {type(arch).__name__}")
