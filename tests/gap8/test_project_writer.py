"""The generated GAP8 project: golden files, constants, firmware (cross-compiled), Makefile, CLI.

Golden copies live in ``tests/gap8/golden/``; regenerate them with ``UPDATE_GOLDEN=1 pytest
tests/gap8/test_project.py`` and review the diff. The firmware tests cross-compile the real
``firmware/main.c`` for GAP8 against the SDK's PMSIS / pulp-os headers (``tests/gap8/sdk_compile``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fmas_hw.errors import ExportError, FmasError
from fmas_hw.gap8.adapt import adapt
from fmas_hw.gap8.checksum import fnv1a32
from fmas_hw.gap8.execute import run_graph
from fmas_hw.gap8.graph import extract_graph
from fmas_hw.gap8.int8_reference import output_int8
from fmas_hw.gap8.project_writer import RANDOM_CALIBRATION, write_project
from fmas_hw.gap8.quantize import INFOS_DIM, quantize_graph, quantize_input
from fmas_hw.space import MobileNetV2Space

from .sdk_compile import compile_firmware, write_kernels_standin

MB = MobileNetV2Space()
FIXED_GENOME = "0110" + "101" + "110110" + "10" + "101" + "1001" + "110" + "011"
SIZE = 64
HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
GOLDEN_FILES = ["model/fmasModel.c", "Makefile", "model/nntool_script", "app_config.h", "fmas.h",
                "common/model_decl.mk", "common/model_rules.mk"]


@pytest.fixture(scope="module")
def project(tiny_mnv2_supernet, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("project") / "fixed"
    return write_project(MB.decode(FIXED_GENOME), tiny_mnv2_supernet, out, classes=5, alpha=0.35,
                         input_size=SIZE)


@pytest.fixture(scope="module")
def project_l3(tiny_mnv2_supernet, tmp_path_factory) -> Path:
    """The minimal candidate with its input/output forced into L3 and another model prefix."""
    out = tmp_path_factory.mktemp("project") / "l3"
    minimal = "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100"
    return write_project(MB.decode(minimal), tiny_mnv2_supernet, out, classes=5, alpha=0.35,
                         input_size=SIZE, prefix="cand", io_placement="l3")


def _layers(project: Path) -> list[dict]:
    return json.loads((project / "model" / "layers.json").read_text())


# ---- golden files -----------------------------------------------------------------------------


def _normalised(text: str) -> str:
    return re.sub(r"fmas-hw \d+\.\d+\.\d+\S*", "fmas-hw <version>", text)


@pytest.mark.parametrize("name", GOLDEN_FILES)
def test_generated_file_matches_golden(project, name):
    text = _normalised((project / name).read_text())
    golden = GOLDEN / name.replace("/", "__")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"no golden copy {golden}: run UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == golden.read_text(), f"{name} differs from {golden} (UPDATE_GOLDEN=1 to accept)"


def test_project_layout_and_candidate_json(project):
    candidate = json.loads((project / "candidate.json").read_text())
    assert {"backbone", "genome", "classes", "alpha"} <= candidate.keys()  # the estimate target's keys
    assert candidate["backbone"] == "mobilenetv2" and candidate["classes"] == 5 and candidate["alpha"] == 0.35
    assert MB.decode(candidate["genome"]) == MB.decode(FIXED_GENOME)
    assert candidate["key"] == MB.decode(FIXED_GENOME).key and candidate["input_size"] == SIZE
    for name in ("README.md", "Makefile", "main.c", "fmas_protocol.h", "app_config.h", "input.h",
                 "model/fmasModel.c", "model/nntool_script", "model/input.bin", "logs"):
        assert (project / name).exists(), name
    readme = (project / "README.md").read_text()
    assert "make clean all run platform=gvsoc" in readme and "platform=board io=uart" in readme
    assert "no crop generator" in readme  # the fixed candidate's crop is documented
    assert not (project / "model" / "fmas.tflite").exists() and "re-run it with `--data`" in readme


def test_nntool_script_has_only_literal_values(project):
    script = (project / "model" / "nntool_script").read_text()
    assert "$(" not in script and "{" not in script and "}" not in script
    lines = script.splitlines()
    assert lines[:2] == ["adjust", "fusions --scale8"] and lines[-1] == "save_state"
    assert "aquant" not in script  # the TFLite is already quantised: opened with -q
    for option in ("graph_monitor_cycles", "graph_produce_node_names", "graph_produce_operinfos"):
        assert f"set {option} true" in lines


# ---- constants --------------------------------------------------------------------------------


def _expected_sizes(row: dict) -> dict[str, int]:
    args = [int(a) if a.lstrip("-").isdigit() else a for a in row["args"]]
    if row["generator"] == "CNN_ConvolutionPoolAct_SQ8":
        c_in, c_out, kx, ky = args[2], args[3], args[7], args[8]
        weights = c_out * ky * kx * (1 if args[6] == "KOP_CONV_DW" else c_in)
        return {"Weights": weights, "Biases": 4 * c_out, "Mul_scale": c_out, "Mul_shift": c_out,
                "Infos": INFOS_DIM}
    if row["generator"] in ("CNN_PoolAct_SQ8", "CNN_MatAddAct_SQ8", "CNN_Act_SQ8"):
        return {"Infos": INFOS_DIM}
    return {}


def test_constant_tensors_have_the_right_sizes(project):
    tensors = project / "model" / "tensors"
    expected = {}
    for row in _layers(project):
        step = row["name"].split("_")[0]
        expected |= {f"{step}_{suffix}.tensor": size for suffix, size in _expected_sizes(row).items()}
    assert {p.name: p.stat().st_size for p in tensors.iterdir()} == expected
    model_c = (project / "model" / "fmasModel.c").read_text()
    assert set(re.findall(r'ConstInfo\("model/tensors/(\w+\.tensor)", 1, 1, (?:8|32), 0\)', model_c)) == set(expected)
    assert (project / "model" / "input.bin").stat().st_size == SIZE * SIZE * 3


def test_weights_tensor_holds_the_quantised_kernel(project, tiny_mnv2_supernet):
    row = _layers(project)[0]  # S1_Conv: 3x3, 3 -> 16
    weights = np.fromfile(project / "model" / "tensors" / "S1_Weights.tensor", np.int8).reshape(16, 3, 3, 3)
    scale = np.fromfile(project / "model" / "tensors" / "S1_Mul_scale.tensor", np.uint8)
    biases = np.fromfile(project / "model" / "tensors" / "S1_Biases.tensor", "<i4")
    assert row["ir"] == ["Conv"] and biases.shape == (16,) and np.all(scale > 0)
    assert np.abs(weights).reshape(16, -1).max(axis=1).tolist() == [127] * 16  # per-channel symmetric
    kernel = tiny_mnv2_supernet.model.get_layer("Conv").get_weights()[0]  # HWIO, before BN folding
    q = weights.transpose(2, 3, 1, 0)  # AutoTiler (Out, In, Fy, Fx) -> HWIO
    big = np.abs(q) > 10
    assert np.all(np.sign(q[big]) == np.sign(kernel[big]))  # folding scales by gamma/sigma > 0


def test_expected_output_is_the_int8_reference_of_the_input(project, tiny_mnv2_supernet):
    """model/expected.json: what the live targets compare the firmware's checksum with."""
    expected = json.loads((project / "model" / "expected.json").read_text())
    graph = extract_graph(adapt(MB.decode(FIXED_GENOME), tiny_mnv2_supernet.model, 5, 0.35,
                                input_size=SIZE).model)
    calibration = np.random.default_rng(0).uniform(-1, 1, (RANDOM_CALIBRATION, SIZE, SIZE, 3))
    qgraph = quantize_graph(graph, calibration.astype(np.float32))  # write_project's seeded images
    input_q = np.fromfile(project / "model" / "input.bin", np.int8).reshape(3, SIZE, SIZE)
    output = output_int8(graph, qgraph, input_q)
    assert output.shape == (5, SIZE, SIZE) and len(np.unique(output)) > 10  # a real output
    assert expected == {"input": "model/input.bin", "output_shape_chw": [5, SIZE, SIZE],
                        "output_bytes": 5 * SIZE * SIZE, "output_checksum": fnv1a32(output.tobytes()),
                        "reference": "fmas_hw.gap8.int8_reference"}


# ---- quantisation semantics: the package's int8 reference agrees with the float graph ---------


def _emulate(graph, qgraph, x: np.ndarray) -> np.ndarray:
    """Float logits (N, H, W, C) of the int8 reference run image by image."""
    outs = [output_int8(graph, qgraph, quantize_input(image, qgraph.input_scale)) for image in x]
    return np.stack([o.transpose(1, 2, 0) for o in outs]).astype(np.float64) * qgraph.output_scale


def test_int8_emulation_agrees_with_the_float_graph(tiny_mnv2_supernet):
    graph = extract_graph(adapt(MB.decode(FIXED_GENOME), tiny_mnv2_supernet.model, 5, 0.35,
                                input_size=SIZE).model)
    rng = np.random.default_rng(1)
    calibration = rng.uniform(-1, 1, (4, SIZE, SIZE, 3)).astype(np.float32)
    qgraph = quantize_graph(graph, calibration)
    x = calibration[:2]
    reference, emulated = run_graph(graph, x), _emulate(graph, qgraph, x)
    correlation = np.corrcoef(reference.ravel(), emulated.ravel())[0, 1]
    agreement = np.mean(np.argmax(reference, -1) == np.argmax(emulated, -1))
    print(f"int8 emulation vs float: correlation {correlation:.4f}, argmax agreement {agreement:.3f}")
    assert correlation > 0.99 and agreement > 0.95


# ---- firmware: cross-compiled for GAP8 against the real PMSIS / pulp-os headers -----------------
#
# Not run on the host any more (that needed hand-written PMSIS stubs): the firmware's behaviour
# (protocol lines, checksum, failure statuses, L3 chunked I/O) is checked where it really runs,
# the gvsoc/board live tests; the protocol header alone compiles and runs on the host in
# tests/targets/test_target_protocol.py.


def _cross_compile(project: Path, prefix: str, build: Path, sdk, *defines: str) -> dict[str, str]:
    """The symbols of main.o, compiled with the stand-in of the generated kernels header."""
    build.mkdir(parents=True, exist_ok=True)
    write_kernels_standin(project / "model" / f"{prefix}Model.c", build)
    symbols = compile_firmware(project / "main.c", sdk, [build, project], build / "main.o", *defines)
    graph = {f"{prefix}CNN", f"{prefix}CNN_Construct", f"{prefix}CNN_Destruct", "AT_GraphPerf",
             "AT_GraphNodeNames", "AT_GraphOperInfosNames"}
    assert {name for name in graph if symbols.get(name) == "U"} == graph
    assert symbols.get(f"{prefix}_L3_Flash") in ("B", "D")  # the kernels' constants base, ours
    return symbols


@pytest.mark.sdk_sources
def test_firmware_with_io_in_l2_compiles_for_gap8(project, tmp_path, sdk_sources):
    config = (project / "app_config.h").read_text()
    assert "#define FMAS_IO_IN_L3 0" in config and "#define FMAS_L3_FLASH fmas_L3_Flash" in config
    assert '"fmas_L3_Memory", 0, 0,' in (project / "model" / "fmasModel.c").read_text()
    assert "l3_ram_ext_managed" not in (project / "model" / "nntool_script").read_text()
    symbols = _cross_compile(project, "fmas", tmp_path, sdk_sources)
    assert "HyperRam" not in symbols  # the graph's own device, static to fmasKernels.c


@pytest.mark.sdk_sources
def test_firmware_with_io_in_l3_compiles_for_gap8(project_l3, tmp_path, sdk_sources, print_rules):
    """Input/output in HyperRAM: the application owns the device, and both routes say so.

    The default (gvsoc / JTAG) build reads the input from the host over semihosting, with the
    defines its Makefile passes.
    """
    config = (project_l3 / "app_config.h").read_text()
    assert "#define FMAS_IO_IN_L3 1" in config and '#include "candKernels.h"' in config
    assert "fmas_input[" not in (project_l3 / "input.h").read_text()
    assert 'FMAS_INPUT_PATH=\'"$(abspath model/input.bin)"\'' in (project_l3 / "Makefile").read_text()
    model_c = (project_l3 / "model" / "candModel.c").read_text()
    assert "AT_MEM_L3_HRAM, AT_MEM_L3_HRAM, 0)" in model_c
    assert '"cand_L3_Memory", 0, 1,' in model_c  # ExtManaged: main.c defines HyperRam
    script = (project_l3 / "model" / "nntool_script").read_text()
    assert "set l3_ram_ext_managed true" in script
    assert "default_input_exec_location AT_MEM_L3_HRAM" in script
    build = _make_build(project_l3, print_rules)
    host_path = str(project_l3.resolve() / "model" / "input.bin")
    assert build["defines"] == [f'-DFMAS_INPUT_PATH="{host_path}"']
    symbols = _cross_compile(project_l3, "cand", tmp_path, sdk_sources, *build["defines"])
    assert symbols.get("HyperRam") in ("B", "D")  # defined here, `extern` in candKernels.c
    needed = {s for s, t in symbols.items() if t == "U"}
    assert {"pi_hyperram_conf_init", "pi_ram_open", "pi_hostfs_conf_init", "pi_fs_read"} <= needed
    assert not needed & {"pi_readfs_conf_init", "pi_hyperflash_conf_init", "pi_flash_open"}
    assert host_path.encode() + b"\0" in (tmp_path / "main.o").read_bytes()


@pytest.mark.sdk_sources
def test_flashed_firmware_with_io_in_l3_compiles_for_gap8(project_l3, tmp_path, sdk_sources, print_rules):
    """The flashed build (FMAS_INPUT=flash, what `fmas-hw flash` makes) needs no debugger: the
    input is packed into readfs with the constants and read from the HyperFlash, not the host."""
    build = _make_build(project_l3, print_rules, "FMAS_INPUT=flash")
    assert build["defines"] == ["-DFMAS_INPUT_IN_FLASH=1"]
    assert build["readfs"] == [str(project_l3.resolve() / "model" / "cand_L3_Flash_Const.dat"),
                               str(project_l3.resolve() / "model" / "input.bin")]
    assert '#define FMAS_INPUT_FLASH_NAME "input.bin"' in (project_l3 / "app_config.h").read_text()
    symbols = _cross_compile(project_l3, "cand", tmp_path, sdk_sources, *build["defines"])
    assert symbols.get("HyperRam") in ("B", "D")
    needed = {s for s, t in symbols.items() if t == "U"}
    # (pi_ram_write and pi_flash_close are inline in the BSP headers: no symbols of their own)
    assert {"pi_hyperram_conf_init", "pi_ram_open", "pi_hyperflash_conf_init", "pi_flash_open",
            "pi_readfs_conf_init", "pi_fs_mount", "pi_fs_open", "pi_fs_read"} <= needed
    assert "pi_hostfs_conf_init" not in needed  # no semihosting left for the input
    obj = (tmp_path / "main.o").read_bytes()
    assert b"input.bin\0" in obj and str(project_l3.resolve()).encode() not in obj


@pytest.mark.sdk_sources
def test_firmware_cross_compile_catches_a_wrong_graph_signature(project, tmp_path, sdk_sources):
    """The check can fail: a graph entry with another signature than main.c's call is an error."""
    standin = write_kernels_standin(project / "model" / "fmasModel.c", tmp_path)
    standin.write_text(standin.read_text().replace("signed char * __restrict__ Output_1",
                                                   "short int * __restrict__ Output_1"))
    with pytest.raises(AssertionError, match="incompatible pointer type"):
        compile_firmware(project / "main.c", sdk_sources, [tmp_path, project], tmp_path / "main.o")


def test_embedded_input_equals_the_input_file(project):
    text = (project / "input.h").read_text()
    body = text[text.index("{") + 1: text.rindex("}")]
    values = np.array([int(v) for v in re.findall(r"-?\d+", body)], np.int8)
    np.testing.assert_array_equal(values, np.fromfile(project / "model" / "input.bin", np.int8))


# ---- Makefile -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake_rules(tmp_path_factory) -> Path:
    rules = tmp_path_factory.mktemp("rules")
    (rules / "at_common_decl.mk").write_text("CNN_GEN = gen.c\nCNN_LIB = lib.c\nCNN_GEN_INCLUDE = -Igen\n"
                                             "CNN_LIB_INCLUDE = -Ilib\nMODEL_SIZE_CFLAGS = -DSIZE\n")
    (rules / "pmsis_rules.mk").write_text("all::\n\t@echo build $(APP) $(APP_SRCS)\n")
    return rules


@pytest.fixture(scope="module")
def print_rules(fake_rules, tmp_path_factory) -> Path:
    """Stand-in SDK rules whose only target prints what the SDK's build would receive."""
    rules = tmp_path_factory.mktemp("print_rules")
    shutil.copyfile(fake_rules / "at_common_decl.mk", rules / "at_common_decl.mk")
    (rules / "pmsis_rules.mk").write_text("fmas_print:\n\t@echo APP_CFLAGS $(APP_CFLAGS)\n"
                                          "\t@echo READFS_FILES $(READFS_FILES)\n")
    return rules


def _make_build(project: Path, rules: Path, *args: str) -> dict[str, list[str]]:
    """The project's own -DFMAS_* flags and READFS_FILES for ``make <args>``, split as the shell
    splits them for the compiler and gapy (``make -n`` shows the commands unexpanded by a shell)."""
    done = _make(project, "fmas_print", f"RULES_DIR={rules}", *args)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[1]: shlex.split(line)[2:] for line in done.stdout.splitlines()
             if line.startswith("echo ")}
    return {"defines": [flag for flag in lines["APP_CFLAGS"] if flag.startswith("-DFMAS_")],
            "readfs": lines["READFS_FILES"]}


def _make(project: Path, *args: str) -> subprocess.CompletedProcess:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make not found: cannot dry-run the generated Makefile (make -n)")
    return subprocess.run([make, "-n", "-C", str(project), *args], capture_output=True, text=True, timeout=60)


def test_makefile_open_route_is_the_default_and_needs_no_gentile(project, fake_rules):
    done = _make(project, "all", f"RULES_DIR={fake_rules}")
    assert done.returncode == 0, done.stderr
    assert "model/fmasKernels.c fmas_resize.c" in done.stdout and "CNN_Conv_SQ8.c" in done.stdout
    assert "GenTile" not in done.stdout and "nntool" not in done.stdout


def test_makefile_autotiler_route(project, fake_rules):
    done = _make(project, "all", "ROUTE=autotiler", f"RULES_DIR={fake_rules}")
    assert done.returncode == 0, done.stderr
    assert "model/fmasModel.c gen.c" in done.stdout  # GenTile built from our model source
    assert "BUILD_MODEL/GenTile -o BUILD_MODEL -c BUILD_MODEL --L1 52736 --L2 400000 --L3 8000000" in done.stdout
    assert "nntool" not in done.stdout


def test_makefile_nntool_route(project, fake_rules):
    (project / "model" / "fmas.tflite").write_bytes(b"")  # make only needs the file to exist
    try:
        done = _make(project, "all", "ROUTE=nntool", f"RULES_DIR={fake_rules}")
    finally:
        (project / "model" / "fmas.tflite").unlink()
    assert done.returncode == 0, done.stderr
    assert "nntool -s model/nntool_script BUILD_MODEL/fmas.tflite -q" in done.stdout
    assert "nntool -g -M BUILD_MODEL -m fmasModel.c -T BUILD_MODEL/tensors" in done.stdout


@pytest.mark.parametrize("args", [(), ("FMAS_INPUT=host",), ("FMAS_INPUT=flash",)],
                         ids=["default", "host", "flash"])
def test_embedded_input_is_the_same_in_every_build(project, print_rules, args):
    """Input and output in L2: the input is in the binary, FMAS_INPUT changes nothing."""
    build = _make_build(project, print_rules, *args)
    assert build == {"defines": [], "readfs": [str(project.resolve() / "model" / "fmas_L3_Flash_Const.dat")]}


def test_default_build_reads_the_input_from_the_host(project_l3, print_rules):
    """The gvsoc/board targets build without FMAS_INPUT: semihosting, only the constants in readfs."""
    build = _make_build(project_l3, print_rules)
    assert [d.split("=")[0] for d in build["defines"]] == ["-DFMAS_INPUT_PATH"]
    assert build["readfs"] == [str(project_l3.resolve() / "model" / "cand_L3_Flash_Const.dat")]


@pytest.mark.parametrize("args,message", [
    (("ROUTE=bogus",), "ROUTE=bogus: expected open, autotiler or nntool"),
    ((), "at_common_decl.mk not found: source the GAP SDK"),
    (("FMAS_INPUT=jtag",), "FMAS_INPUT=jtag: expected host or flash"),
], ids=["bad-route", "no-sdk", "bad-input"])
def test_makefile_errors_are_clear(project, fake_rules, args, message):
    rules = [f"RULES_DIR={fake_rules}"] if args else ["RULES_DIR=/nonexistent"]
    done = _make(project, "all", *args, *rules)
    assert done.returncode != 0 and message in done.stderr


# ---- errors and the command line ---------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    ({"route": "nntool"}, "nntool route reads the int8 TFLite"),
    ({"route": "xla"}, "route 'xla'"),
    ({"prefix": "my-model"}, "model prefix"),
    ({"io_placement": "l4"}, "io_placement"),
    ({"representative_images": np.zeros((2, 32, 32, 3), np.float32)}, r"expected \(N, 64, 64, 3\)"),
], ids=["nntool-without-images", "route", "prefix", "io", "image-shape"])
def test_write_project_rejects_bad_arguments(tiny_mnv2_supernet, tmp_path, kwargs, match):
    with pytest.raises(ExportError, match=match):
        write_project(MB.decode(FIXED_GENOME), tiny_mnv2_supernet, tmp_path, classes=5, alpha=0.35,
                      input_size=SIZE, **kwargs)


def test_cli_export_writes_the_project(tmp_path, monkeypatch, capsys):
    from fmas_hw.cli.main import main
    from fmas_hw.gap8 import project_writer as project_module

    # TFLite/ONNX conversion is tested with the export modules; here only the command's plumbing
    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    code = main(["export", "--genome", FIXED_GENOME, "--classes", "3", "--alpha", "0.35",
                 "--input-size", "64", "--calibration-images", "2", "--out", str(tmp_path / "p"),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert MB.decode(report["candidate"]["genome"]) == MB.decode(FIXED_GENOME) and report["kernels"] > 10
    assert "random images" in captured.err and (tmp_path / "p" / "model" / "fmasModel.c").exists()


def test_cli_export_takes_representative_images_from_the_training_split(tmp_path, monkeypatch, capsys):
    from fmas_hw.cli.main import main
    from fmas_hw.data.synth import write_synthetic_voc
    from fmas_hw.gap8 import project_writer as project_module

    data = write_synthetic_voc(tmp_path / "data", train=3, val=1, size=40, num_classes=3)
    seen = {}

    def no_export(model, images, folder, prefix):
        seen["images"] = images
        return {}

    monkeypatch.setattr(project_module, "_export_models", no_export)
    code = main(["export", "--genome", FIXED_GENOME, "--classes", "3", "--alpha", "0.35",
                 "--input-size", "64", "--calibration-images", "2", "--data", str(data),
                 "--out", str(tmp_path / "p")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert seen["images"].shape == (2, SIZE, SIZE, 3) and np.abs(seen["images"]).max() <= 1.0
    assert "2 training images" in captured.out and "random" not in captured.err


def test_cli_export_errors_are_user_errors(tmp_path, capsys):
    from fmas_hw.cli.main import main

    code = main(["export", "--genome", "012", "--out", str(tmp_path / "p")])
    err = capsys.readouterr().err  # a bad genome is click's usage error, before any model is built
    assert code == 2 and "Invalid value for '--genome'" in err and "Traceback" not in err
    code = main(["export", "--prefix", "9bad", "--out", str(tmp_path / "p")])
    assert code != 0 and "error:" in capsys.readouterr().err
    assert issubclass(ExportError, FmasError)


def test_representative_images_reach_the_exports(tiny_mnv2_supernet, tmp_path, monkeypatch):
    """Plumbing only (the real conversions are slow; the test below and tests of the export
    modules run them): the adapted model and the images go to the exporters, files land in model/."""
    from fmas_hw.gap8 import onnx_export, tflite_export
    seen = {}

    def fake_tflite(model, images, path):
        seen["tflite"] = (model.input_shape, images.shape)
        Path(path).write_bytes(b"TFL3")

    monkeypatch.setattr(tflite_export, "export_tflite_int8", fake_tflite)
    monkeypatch.setattr(onnx_export, "export_onnx", lambda model, path: Path(path).write_bytes(b"onnx"))
    images = np.random.default_rng(0).uniform(-1, 1, (3, SIZE, SIZE, 3)).astype(np.float32)
    path = write_project(MB.decode(FIXED_GENOME), tiny_mnv2_supernet, tmp_path, classes=5, alpha=0.35,
                         input_size=SIZE, representative_images=images, route="nntool", prefix="net")
    assert seen["tflite"] == ((None, SIZE, SIZE, 3), (3, SIZE, SIZE, 3))
    assert (path / "model" / "net.tflite").exists() and (path / "model" / "net.onnx").exists()
    readme = (path / "README.md").read_text()
    assert "3 representative images" in readme and "`model/net.tflite`" in readme
    assert "ROUTE ?= nntool" in (path / "Makefile").read_text()


@pytest.mark.slow
def test_project_with_representative_images_exports_tflite_and_onnx(tiny_mnv2_supernet, tmp_path):
    images = np.random.default_rng(0).uniform(-1, 1, (2, SIZE, SIZE, 3)).astype(np.float32)
    path = write_project(MB.decode(FIXED_GENOME), tiny_mnv2_supernet, tmp_path, classes=5, alpha=0.35,
                         input_size=SIZE, representative_images=images, route="nntool")
    assert (path / "model" / "fmas.tflite").stat().st_size > 0 and (path / "model" / "fmas.onnx").stat().st_size > 0
    assert "ROUTE ?= nntool" in (path / "Makefile").read_text()
