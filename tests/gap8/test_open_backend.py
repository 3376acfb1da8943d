"""The open GAP8 backend: tile plan -> tiled C -> the SDK's real SQ8 kernels, run on x86.

Every network here is exported by :func:`~fmas_hw.gap8.project_writer.write_project`, compiled with the
SDK's own SQ8 kernel sources and emulation headers (``-D__EMUL__``) and run on its
``model/input.bin``; its output checksum must equal ``model/expected.json``'s, which the
package's int8 reference computed (:mod:`fmas_hw.gap8.int8_reference`): bit-exact. The emulated
arenas are sized at the plan's budgets and every transfer is checked against them, so a run also
proves that no layer exceeds L1, L2 or L3. Small networks run with L1 shrunk and every layer
split into at least 4 tiles (every border, halo, stride, dilation and channel split on the path);
the slow test runs the supernet and random genomes at 384 x 384 with the real GAP8 budgets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmas_hw.errors import ExportError
from fmas_hw.gap8 import emulate
from fmas_hw.gap8.bands import reads_padding_on_both_sides
from fmas_hw.gap8.netdef_graph import netdef_graph
from fmas_hw.gap8.open_codegen import BACKEND_VERSION
from fmas_hw.gap8.project_writer import write_project
from fmas_hw.gap8.tile_plan import Budgets, TilingError
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.hardware import OPEN_BACKEND
from tests.conftest import random_genomes

from .sdk_compile import compile_firmware

pytestmark = pytest.mark.sdk_sources

MB = MobileNetV2Space()
FIXED_GENOME = "0110" + "101" + "110110" + "10" + "101" + "1001" + "110" + "011"
SIZE = 64
#: Small budgets: every layer at least 4 tiles, convolutions at most 2 input channels per tile,
#: activations spilled to L3 (L2 too small for them all).
SMALL = Budgets(l1=4000, l2=60_000, l3=8_000_000, min_tiles=4, max_in_channels=2)


def _export(supernet, genome: str, folder: Path, budgets: Budgets, size: int = SIZE, **kw) -> Path:
    return write_project(MB.decode(genome), supernet, folder, classes=kw.pop("classes", 5),
                         alpha=kw.pop("alpha", 0.35), input_size=size, budgets=budgets, **kw)


def _plan(project: Path) -> dict:
    return json.loads((project / "model" / "tile_plan.json").read_text())


def _check_run(project: Path, budgets: Budgets) -> emulate.EmulationResult:
    result = emulate.run(project)
    assert result.matches, f"{project}: checksum {result.checksum}, int8 reference {result.expected}"
    plan = _plan(project)
    assert [layer["name"] for layer in result.layers] == [layer["name"] for layer in plan["layers"]]
    for ran, planned in zip(result.layers, plan["layers"], strict=True):
        # the bytes the generated code moved are the bytes the plan (and the estimate) count
        assert (ran["dma_in"], ran["dma_out"], ran["l1"]) == \
            (planned["dma_in"], planned["dma_out"], planned["l1"]), planned["name"]
        assert ran["l1"] <= budgets.l1
    assert plan["arenas"]["l2"] <= budgets.l2 and plan["arenas"]["l3"] <= budgets.l3
    return result


@pytest.fixture(scope="module")
def small_project(tiny_mnv2_supernet, tmp_path_factory, sdk_sources) -> Path:
    return _export(tiny_mnv2_supernet, FIXED_GENOME, tmp_path_factory.mktemp("open") / "fixed", SMALL)


def test_small_network_in_four_tiles_a_layer_is_bit_exact(small_project):
    plan = _plan(small_project)
    assert min(layer["tiles"] for layer in plan["layers"]) >= 4
    kinds = {layer["kind"] for layer in plan["layers"]}
    assert {"conv", "matmul", "dw", "add", "avgpool", "resize"} <= kinds
    first = plan["layers"][0]
    assert first["kind"] == "conv" and first["in_channels"] < 3  # the input channels are split
    assert plan["spilled"] and plan["arenas"]["constants_l3"]  # L3 activations and constants
    _check_run(small_project, SMALL)


def test_dilated_filters_wider_than_their_map_are_computed_right(small_project):
    """The SQ8 kernels' border code gets these layers wrong (test_sq8_kernels.py); the open
    route zero-pads their tiles in L1, and the network stays bit-exact (checked above)."""
    graph = netdef_graph(MB.decode(FIXED_GENOME), 5, 0.35, SIZE)
    flagged = {n.name for n in graph if reads_padding_on_both_sides(n)}
    assert flagged == {"expanded_conv_15_depthwise", "expanded_conv_16_depthwise"}
    padded = {layer["node"] for layer in _plan(small_project)["layers"] if layer["explicit_pad"]}
    assert padded == flagged
    readme = (small_project / "README.md").read_text()
    assert "ROUTE=open` (default)" in readme


@pytest.mark.parametrize("genome", random_genomes(MB, 5, seed=7), ids=lambda g: g)
def test_random_small_networks_are_bit_exact(genome, tiny_mnv2_supernet, tmp_path, sdk_sources):
    project = _export(tiny_mnv2_supernet, genome, tmp_path / "p", SMALL)
    _check_run(project, SMALL)


def test_the_small_genomes_cover_strides_and_dilations():
    """What the small tests above run through: strides 1-3, dilations 1-4 in tiled layers."""
    strides, dilations = set(), set()
    for genome in [FIXED_GENOME, *random_genomes(MB, 5, seed=7)]:
        for node in netdef_graph(MB.decode(genome), 5, 0.35, SIZE):
            if node.op in ("conv", "depthwise"):
                strides.add(node.stride[0])
                dilations.add(node.dilation[0])
    assert strides == {1, 2, 3} and dilations == {1, 2, 3, 4}


def test_a_layer_over_its_l1_budget_fails_the_emulation_naming_it(small_project, tmp_path):
    """The emulated arenas are the budgets: a plan that needs more L1 than the build allows fails."""
    import shutil

    project = tmp_path / "over"
    shutil.copytree(small_project, project)
    header = project / "model" / "fmasKernels.h"
    largest = max(_plan(project)["layers"], key=lambda layer: layer["l1"])
    header.write_text(header.read_text().replace(f"FMAS_L1_BUDGET {SMALL.l1}u",
                                                 f"FMAS_L1_BUDGET {largest['l1'] - 1}u"))
    with pytest.raises(ExportError, match=f"layer {largest['name']}: L1 needs {largest['l1']} bytes"):
        emulate.run(project)


def test_a_budget_no_tile_fits_is_a_clear_error(tiny_mnv2_supernet, tmp_path):
    with pytest.raises(TilingError, match=r"its smallest tile needs \d+ bytes of L1, the budget is 600; "
                                          "raise --l1-bytes"):
        _export(tiny_mnv2_supernet, FIXED_GENOME, tmp_path / "p", Budgets.from_hw(l1=600))


def test_generated_network_and_firmware_compile_for_gap8(small_project, tmp_path, sdk_sources):
    """The tiled network, the resize kernel and main.c against the generated header, for GAP8
    with the real PMSIS headers (-Werror on our code)."""
    includes = [small_project, small_project / "model"]
    kernels = compile_firmware(small_project / "model" / "fmasKernels.c", sdk_sources, includes,
                               tmp_path / "kernels.o")
    assert {"fmasCNN", "fmasCNN_Construct", "fmasCNN_Destruct", "AT_GraphPerf"} <= {
        name for name, kind in kernels.items() if kind in ("T", "B", "D")}
    assert kernels.get("KerParConvNxMDxDyStrideSxSy_SQ8") == "U"  # the SDK's kernels, linked later
    resize = compile_firmware(small_project / "fmas_resize.c", sdk_sources, includes, tmp_path / "resize.o")
    assert resize.get("FmasResizeBilinear_SQ8") == "T"
    main = compile_firmware(small_project / "main.c", sdk_sources, includes, tmp_path / "main.o")
    assert main.get("fmasCNN") == "U" and main.get("fmas_L3_Flash") in ("B", "D")


def test_network_with_io_in_l3_compiles_for_gap8_and_runs_bit_exact(tiny_mnv2_supernet, tmp_path, sdk_sources):
    """Input and output in HyperRAM: main.c owns the device, the kernels use it (extern)."""
    project = _export(tiny_mnv2_supernet, FIXED_GENOME, tmp_path / "l3", SMALL, io_placement="l3")
    header = (project / "model" / "fmasKernels.h").read_text()
    assert "extern AT_HYPERRAM_T HyperRam;" in header
    includes = [project, project / "model"]
    kernels = compile_firmware(project / "model" / "fmasKernels.c", sdk_sources, includes, tmp_path / "k.o")
    assert kernels.get("HyperRam") == "U"  # the application's device
    main = compile_firmware(project / "main.c", sdk_sources, includes, tmp_path / "main.o",
                            f'-DFMAS_INPUT_PATH="{project / "model" / "input.bin"}"')
    assert main.get("HyperRam") in ("B", "D", "C") and main.get("fmasCNN") == "U"
    _check_run(project, SMALL)


def test_the_targets_name_the_backend_version_of_the_code_generator():
    assert OPEN_BACKEND == BACKEND_VERSION


@pytest.mark.slow
def test_gap8_size_networks_with_the_real_budgets_are_bit_exact(tmp_path, sdk_sources):
    """The supernet, the fixed genome and 20 random genomes at 384 x 384, 21 classes, width 1."""
    from fmas_hw.model.supernet import Supernet
    from tests.conftest import randomize_weights

    supernet = Supernet.build("mobilenetv2", input_size=384, classes=21, alpha=1.0)
    randomize_weights(supernet.model, seed=0)
    budgets = Budgets.from_hw()
    genomes = [MB.supernet_genome, FIXED_GENOME, *random_genomes(MB, 20, seed=11)]
    for i, genome in enumerate(genomes):
        project = _export(supernet, genome, tmp_path / f"g{i}", budgets, size=384, classes=21, alpha=1.0)
        result = _check_run(project, budgets)
        plan = _plan(project)
        print(f"{genome}: {len(plan['layers'])} kernels, {sum(x['tiles'] for x in plan['layers'])} tiles, "
              f"max L1 {max(x['l1'] for x in plan['layers'])} B, L2 {plan['arenas']['l2']} B, "
              f"L3 {plan['arenas']['l3']} B, checksum {result.checksum}")
