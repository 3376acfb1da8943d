"""Every interpreter of the network definition agrees with the Keras builder it stands in for.

``model/netdef.py`` writes both DeepLabV3+ networks once for three fast interpreters; the Keras
builders write them again as the trainable, exportable models. This one harness keeps the two
definitions in step: each case interprets a candidate and compares it with what the Keras builder
gives for the same candidate —

* ``executor`` (:mod:`fmas_hw.model.executor`): logits equal the Keras sub-network's;
* ``counting`` (:mod:`fmas_hw.eval.counting`): parameters and profiler FLOPs equal the Keras
  model's (and the paper's figures for the reference networks);
* ``graph`` (:mod:`fmas_hw.gap8.netdef_graph`): the GAP8 graph equals the one fused from the
  GAP8-adapted Keras network, node for node and field for field.

Xception cases and the full-size reference counts are marked slow: one Keras Xception build costs
about five seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import tf_keras

from fmas_hw.eval.costs import analytic_flops, count_params
from fmas_hw.eval.counting import count_costs
from fmas_hw.gap8.graph import extract_graph
from fmas_hw.gap8.netdef_graph import netdef_graph
from fmas_hw.model.builder import build_model
from fmas_hw.model.executor import SwitchableSupernet
from fmas_hw.model.supernet import Supernet
from fmas_hw.space import MobileNetV2Space, XceptionSpace
from fmas_hw.space.base import Arch, SearchSpace
from tests.conftest import random_genomes, randomize_weights

MB, XC = MobileNetV2Space(), XceptionSpace()
GRAPH_FIELDS = ("name", "op", "inputs", "in_shape", "out_shape", "kernel", "stride", "dilation", "padding",
                "activation", "interpolation", "crop", "keras_layers")


@dataclass(frozen=True)
class Case:
    """One candidate at one setting, for one interpreter; ``expected``: reference figures, if any."""

    interpreter: str
    space: SearchSpace
    genome: str
    size: int
    classes: int
    alpha: float = 1.0
    expected: tuple[tuple[str, int], ...] = ()


# -- executor: logits ----------------------------------------------------------------------------
#: (input size, classes, alpha) of the tiny MobileNetV2 supernet fixture; the Xception supernet.
EXECUTOR_SETTINGS = {"mobilenetv2": (64, 5, 0.35), "xception": (48, 3, 1.0)}
EXECUTOR_IMAGES = {"mobilenetv2": (2, 3), "xception": (1, 5)}  # (batch, seed)


class Executor:
    """The whole search space as one traced function, over a supernet with random weights."""

    def __init__(self, request: pytest.FixtureRequest):
        self.request, self.nets = request, {}

    def _net(self, backbone: str) -> tuple[Supernet, SwitchableSupernet, np.ndarray]:
        if backbone not in self.nets:
            size, classes, _ = EXECUTOR_SETTINGS[backbone]
            if backbone == "mobilenetv2":
                supernet = self.request.getfixturevalue("tiny_mnv2_supernet")
            else:
                supernet = Supernet.build("xception", input_size=size, classes=classes)
                randomize_weights(supernet.model, seed=4)
            batch, seed = EXECUTOR_IMAGES[backbone]
            images = np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype(np.float32)
            self.nets[backbone] = supernet, SwitchableSupernet(supernet), images
        return self.nets[backbone]

    def netdef(self, arch: Arch, case: Case):
        _, net, images = self._net(arch.backbone)
        return net.forward(images, net.controls(arch)).numpy()

    def keras(self, arch: Arch, case: Case):
        supernet, _, images = self._net(arch.backbone)
        return supernet.subnet(arch)(images, training=False).numpy()

    def check(self, ours, keras, case: Case) -> None:
        _, net, images = self._net(case.space.name)
        assert ours.shape == keras.shape == (len(images), case.size, case.size, case.classes)
        # BatchNorm folded into the kernels only reorders float rounding.
        np.testing.assert_allclose(ours, keras, rtol=1e-4, atol=1e-5 * np.abs(keras).max(), err_msg=case.genome)
        assert net._forward.experimental_get_tracing_count() == 1  # one trace serves every candidate


def _executor_cases() -> list[Case]:
    mb = [MB.supernet_genome, "1111" + MB.supernet_genome[4:], "0000" + "000" + "000000" + MB.supernet_genome[13:],
          "0011" + "111" + "111111" + "10" + "100" + "1000" + "100" + "100", *random_genomes(MB, 6, 21)]
    # Every Xception gene's every value appears at least once.
    xc = [XC.supernet_genome, "0000000000000000000000", "1111111111011111111111", "1001100111111111111111",
          "0110011010101010101010", *random_genomes(XC, 2, 6)]
    return [Case("executor", space, g, *EXECUTOR_SETTINGS[space.name])
            for space, genomes in ((MB, mb), (XC, xc)) for g in genomes]


# -- counting: parameters and FLOPs --------------------------------------------------------------
class Counting:
    """Shapes only: parameters as Keras ``count_params``, FLOPs as the TF profiler counts them."""

    def netdef(self, arch: Arch, case: Case):
        return count_costs(arch, case.size, classes=case.classes, alpha=case.alpha)

    def keras(self, arch: Arch, case: Case):
        model = build_model(arch, case.size, case.classes, case.alpha)
        return {"params": count_params(model), "flops": analytic_flops(model)}

    def check(self, ours, keras, case: Case) -> None:
        assert ours == keras
        if case.expected:
            assert ours == dict(case.expected)


def _counting_cases() -> list[Case]:
    mb = [MB.supernet_genome, "1111" + "000" + "000000" + MB.supernet_genome[13:], *random_genomes(MB, 4, 13)]
    xc = [XC.supernet_genome, "0000000000000000000000", "1111111111011111111111", *random_genomes(XC, 3, 2)]
    references = [  # the paper's figures (SPEC §2)
        (XC, XC.supernet_genome, 513, 41_258_213, 108_505_169_549),
        (XC, "0100001111111011011111", 513, 38_004_053, 101_473_052_093),  # FMAS-P2
        (MB, MB.supernet_genome, 384, 2_146_645, 9_733_661_376),
    ]
    return ([Case("counting", MB, g, size, 7, 0.35) for g in mb for size in (64, 97)]
            + [Case("counting", XC, g, 65, 3) for g in xc]
            + [Case("counting", space, g, size, 21, expected=(("params", params), ("flops", flops)))
               for space, g, size, params, flops in references])


# -- graph: the fused GAP8 layer graph -----------------------------------------------------------
def _plain(value):
    """Lists and tuples compare equal when their items do (keras_layers is a list)."""
    return tuple(value) if isinstance(value, tuple | list) else value


class Graph:
    """The GAP8 graph of the adapted network, from the definition vs fused from Keras layers."""

    def netdef(self, arch: Arch, case: Case):
        return netdef_graph(arch, case.classes, case.alpha, case.size)

    def keras(self, arch: Arch, case: Case):
        return extract_graph(build_model(arch, case.size, case.classes, case.alpha, gap8=True))

    def check(self, ours, keras, case: Case) -> None:
        assert [n.name for n in ours] == [n.name for n in keras] and ours.output == keras.output
        for a, b in zip(ours, keras, strict=True):
            for field in GRAPH_FIELDS:
                assert _plain(getattr(a, field)) == _plain(getattr(b, field)), (a.name, field)
            assert (a.weights is None) == (b.weights is None)
            if a.weights is not None:
                assert a.weights.shape == b.weights.shape and a.bias.shape == b.bias.shape
            assert a.macs == b.macs and a.weight_count == b.weight_count


def _graph_cases() -> list[Case]:
    rng = np.random.default_rng(42)
    mb = [MB.supernet_genome, "1100" + MB.supernet_genome[4:], "1111" + MB.supernet_genome[4:],
          "0011111111111" + MB.supernet_genome[13:],
          *("".join("1" if b else "0" for b in MB.random_genome(rng)) for _ in range(5))]
    # 384: the GAP8 size; 97: odd sizes, non-integer upsampling (crops); 64: 1x1 feature maps.
    settings = [(384, 21, 1.0), (97, 5, 0.35), (64, 5, 0.35)]
    # Entry strides 1-4 (3 and 4 crop), every rate gene, with and without middle blocks.
    xc = [(XC.supernet_genome, 384, 21), ("0000000000000000000000", 33, 3), ("1111111111011111111111", 97, 3),
          ("1001100111111111111111", 65, 3), *zip(random_genomes(XC, 2, 7), (48, 71), (4, 4), strict=True)]
    return ([Case("graph", MB, g, *setting) for setting in settings for g in mb]
            + [Case("graph", XC, g, size, classes) for g, size, classes in xc])


# -- the harness ---------------------------------------------------------------------------------
def _param(case: Case):
    marks = [pytest.mark.slow] if case.space.name == "xception" or case.expected else []
    name = f"{case.interpreter}-{case.space.name}-{case.size}px-{case.classes}cls-a{case.alpha}-{case.genome}"
    return pytest.param(case, marks=marks, id=name)


CASES = [_param(c) for c in _executor_cases() + _counting_cases() + _graph_cases()]


@pytest.fixture(scope="module")
def interpreters(request):
    yield {"executor": Executor(request), "counting": Counting(), "graph": Graph()}
    tf_keras.backend.clear_session()


@pytest.mark.slow  # builds a Keras model per case: about a minute in all
@pytest.mark.parametrize("case", CASES)
def test_interpreter_agrees_with_the_keras_builder(interpreters: dict[str, Any], case: Case):
    interpreter = interpreters[case.interpreter]
    arch = case.space.decode(case.genome)
    interpreter.check(interpreter.netdef(arch, case), interpreter.keras(arch, case), case)
