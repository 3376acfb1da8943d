"""A candidate's genes as Optuna categorical parameters, named and valued as its search space is.

Optuna's parameter importance and parallel coordinates need every trial's parameters drawn from
fixed distributions, so each gene becomes one categorical parameter whose choices are the
values the space allows: strides and rates as numbers, rate sets as text, a kept or dropped block
as a boolean. A gene that changes nothing in a candidate (the dilation of a block it does not
run, the middle-flow rate without middle-flow blocks) is left out of that candidate, as Optuna
does with conditional parameters. Names are zero-padded so that they sort in layer order.
"""

from __future__ import annotations

from collections.abc import Callable

from optuna.distributions import CategoricalChoiceType, CategoricalDistribution

from ..space import Arch, MobileNetV2Arch, XceptionArch, xception
from ..space import mobilenetv2 as mnv2

Params = dict[str, CategoricalChoiceType]


def _rates(rates: tuple[int, ...]) -> str:
    return ",".join(str(r) for r in rates)


def _xception_choices() -> dict[str, tuple[CategoricalChoiceType, ...]]:
    return {"entry_stride": xception.ENTRY_STRIDES, "middle_rate": xception.MIDDLE_RATES,
            "exit_rates": tuple(_rates(r) for r in xception.EXIT_RATES),
            "aspp_rates": tuple(_rates(r) for r in xception.ASPP_RATES),
            **{f"keep_m{b:02d}": (False, True) for b in range(1, xception.N_MIDDLE_BLOCKS + 1)}}


def _xception_values(arch: Arch) -> Params:
    assert isinstance(arch, XceptionArch)
    out: Params = {"entry_stride": arch.entry_stride, "exit_rates": _rates(arch.exit_rates),
                   "aspp_rates": _rates(arch.aspp_rates)}
    if arch.middle_blocks:
        out["middle_rate"] = arch.middle_rate
    out.update({f"keep_m{b:02d}": b in arch.middle_blocks for b in range(1, xception.N_MIDDLE_BLOCKS + 1)})
    return out


#: The blocks a MobileNetV2 candidate may drop: all but the first of each channel group.
_MNV2_OPTIONAL = tuple(b for ids in mnv2.GROUPS.values() for b in ids[1:])


def _mnv2_choices() -> dict[str, tuple[CategoricalChoiceType, ...]]:
    return {**{f"stride_b{b:02d}": values for b, values in mnv2.STRIDE_GENES},
            **{f"dilation_b{b:02d}": (1, 2) for b in mnv2.DILATION_BIT_GENES},
            **{f"dilation_b{b:02d}": mnv2.DILATION_INDEX_VALUES for b in mnv2.DILATION_INDEX_GENES},
            **{f"keep_b{b:02d}": (False, True) for b in _MNV2_OPTIONAL}}


def _mnv2_values(arch: Arch) -> Params:
    assert isinstance(arch, MobileNetV2Arch)
    layers = {layer.block: layer for layer in arch.layers}
    out: Params = {f"stride_b{b:02d}": layers[b].stride for b, _ in mnv2.STRIDE_GENES}
    out.update({f"dilation_b{b:02d}": layers[b].dilation
                for b in mnv2.DILATION_BIT_GENES + mnv2.DILATION_INDEX_GENES if b in layers})
    out.update({f"keep_b{b:02d}": b in layers for b in _MNV2_OPTIONAL})
    return out


_SPACES: dict[str, tuple[Callable[[], dict[str, tuple[CategoricalChoiceType, ...]]], Callable[[Arch], Params]]] = {
    "xception": (_xception_choices, _xception_values),
    "mobilenetv2": (_mnv2_choices, _mnv2_values),
}


def backbones() -> tuple[str, ...]:
    """The backbones whose genes this module names."""
    return tuple(_SPACES)


def distributions(backbone: str) -> dict[str, CategoricalDistribution]:
    """Every gene of ``backbone`` as a categorical distribution over the values it may take."""
    choices, _ = _SPACES[backbone]
    return {name: CategoricalDistribution(values) for name, values in choices().items()}


def gene_params(arch: Arch) -> Params:
    """The genes of ``arch`` that change its network, ``{name: value}``."""
    _, values = _SPACES[arch.backbone]
    return values(arch)
