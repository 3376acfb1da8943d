"""Keras-free parameter and FLOP counts: architectures outside the search space are refused.

That the counts equal the built Keras model's (and the paper's figures) is checked with the
other interpreters of the network definition, in ``tests/model/test_netdef_interpreters.py``.
"""

from __future__ import annotations

import pytest

from fmas_hw.errors import ArchitectureError
from fmas_hw.eval.counting import count_costs
from fmas_hw.space import MobileNetV2Space
from fmas_hw.space.mobilenetv2 import Layer, MobileNetV2Arch

MB = MobileNetV2Space()


def test_architecture_outside_the_search_space_is_not_counted_silently():
    layers = list(MB.supernet().layers)
    layers[5] = Layer(5, stride=1, dilation=3)  # block 5 has no dilation gene
    with pytest.raises(ArchitectureError):
        count_costs(MobileNetV2Arch(tuple(layers)), 64)
