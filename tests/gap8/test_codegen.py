"""Code generation: C names, lowering to AutoTiler generator calls, the rendered model source.

The parse-back test reads the rendered ``<prefix>Model.c`` with regular expressions (independently
of the code that wrote it) and checks it lists exactly the Keras model's layers with their real
kernel, stride, dilation, padding, channels, sizes and activation.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tf_keras

from fmas_hw.errors import ExportError
from fmas_hw.gap8 import codegen
from fmas_hw.gap8.adapt import adapt
from fmas_hw.gap8.codegen import PAD_TYPES, conv_padding, lower
from fmas_hw.gap8.graph import Gap8Graph, Node, extract_graph
from fmas_hw.gap8.naming import c_comment, c_identifier, c_string, check_prefix, node_names
from fmas_hw.gap8.quantize import quantize_multiplier
from fmas_hw.gap8.render import model_context, render
from fmas_hw.model.layers import Subsample2D
from fmas_hw.space import MobileNetV2Space

from .sdk_compile import check_model_source

MB = MobileNetV2Space()
#: strides 2/3, a strided dilated depthwise, skipped blocks, a crop after the final upsampling.
FIXED_GENOME = "0110" + "101" + "110110" + "10" + "101" + "1001" + "110" + "011"
SIZE = 64
CONV_ROLES = ["weights", "biases", "mul_scale", "mul_shift", "infos"]


def _roles(graph: Gap8Graph) -> dict[str, list[str]]:
    return {n.name: CONV_ROLES if n.op in ("conv", "depthwise") else
            ["infos"] if n.op in ("add", "avgpool", "act") else [] for n in graph}


@pytest.fixture(scope="module")
def adapted(tiny_mnv2_supernet):
    return adapt(MB.decode(FIXED_GENOME), tiny_mnv2_supernet.model, 5, 0.35, input_size=SIZE).model


@pytest.fixture(scope="module")
def model_c(adapted, tmp_path_factory) -> Path:
    graph = extract_graph(adapted)
    memory = {"l1": 52736, "l2": 400000, "l3": 8000000, "l3_flash": 64 << 20}
    context = model_context(lower(graph, _roles(graph)), "fmas", memory, "AT_MEM_L2", "model/tensors")
    context |= {"candidate": {"key": "k", "backbone": "mobilenetv2", "genome": FIXED_GENOME,
                              "input_size": SIZE, "classes": 5, "alpha": 0.35},
                "fmas_version": "test", "tensor_dir": "model/tensors"}
    path = tmp_path_factory.mktemp("model") / "fmasModel.c"
    path.write_text(render("Model.c.j2", context))
    return path


# ---- names -----------------------------------------------------------------------------------

HOSTILE = {
    "spaces": "my conv layer", "dashes": "conv-1-depthwise", "quotes": 'conv"1\'s', "comment": "a*/b/*c",
    "unicode": "çonv_ñame_日本", "leading-digit": "3x3_conv", "keyword": "int", "empty": "", "symbols": "!!!",
    "long": "block_" * 40, "backslash": "conv\\n1", "newline": "conv\nname",
}


@pytest.mark.parametrize("name", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_layer_names_become_valid_identifiers(name):
    ident = c_identifier(name)
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", ident) and len(ident) <= 63
    assert ident not in ("int", "for", "if")


def test_node_names_are_unique_prefixed_and_short():
    layers = list(HOSTILE.values()) + ["conv 1", "conv-1", "conv_1", "block_" * 40 + "a", "block_" * 40 + "b"]
    names = node_names(layers)
    assert len(set(names)) == len(names)
    for step, name in enumerate(names, start=1):
        assert re.fullmatch(rf"S{step}(_[A-Za-z0-9_]+)?", name) and len(name) <= 48
    # long names are truncated with a hash of the original, so they stay distinct
    assert names[-1].endswith(names[-1][-8:]) and names[-1][-8:] != names[-2][-8:]


def test_comment_and_string_escaping():
    assert "*/" not in c_comment("evil */ comment /* here")
    assert "\n" not in c_comment("two\nlines")
    assert c_string('a"b\\c') == 'a\\"b\\\\c'
    assert c_string("??=") == "\\077\\077="  # no trigraphs


@pytest.mark.parametrize("prefix", ["", "1abc", "a-b", "int", "x" * 30, "a b"])
def test_bad_model_prefix_is_refused(prefix):
    with pytest.raises(ExportError, match="model prefix"):
        check_prefix(prefix)


# ---- fixed point -----------------------------------------------------------------------------


@pytest.mark.parametrize("m", [1e-6, 3.7e-4, 0.01, 0.5, 1.0, 1.9, 37.0, 254.9])
def test_multiplier_split_is_accurate(m):
    scale, shift = quantize_multiplier(m)
    approx = int(scale[0]) * 2.0 ** -int(shift[0])
    assert 0 <= int(shift[0]) <= 31 and int(scale[0]) <= 255
    assert abs(approx - m) / m < (1 / 128 if m > 1e-5 else 0.05)


def test_multiplier_out_of_range_is_refused():
    with pytest.raises(ExportError, match="SQ8 range"):
        quantize_multiplier(300.0)


# ---- padding -----------------------------------------------------------------------------------


def _conv(in_hw, k, s, d, pad, out_hw, op="conv"):
    return Node("c", op, ("input",), (*in_hw, 4), (*out_hw, 4), (k, k), (s, s), (d, d), pad)


@pytest.mark.parametrize("node,expected", [
    (_conv((64, 64), 3, 2, 1, (0, 1, 0, 1), (32, 32)), (1, "PAD_BALANCED_RIGHT")),   # TF "same", stride 2
    (_conv((32, 32), 3, 1, 1, (1, 1, 1, 1), (32, 32)), (1, None)),                   # symmetric
    (_conv((16, 16), 3, 2, 2, (2, 2, 2, 2), (8, 8), "depthwise"), (1, None)),        # strided dilated dw
    (_conv((96, 96), 3, 3, 1, (0, 0, 0, 0), (32, 32)), (0, None)),                   # valid, stride 3
    (_conv((8, 8), 1, 1, 1, (0, 0, 0, 0), (8, 8)), (0, None)),                       # pointwise
], ids=["same-s2", "same-s1", "dilated-strided", "valid-s3", "pointwise"])
def test_conv_padding_reproduces_the_node(node, expected):
    assert conv_padding(node) == expected


def test_padding_the_autotiler_cannot_express_is_refused():
    with pytest.raises(ExportError, match="'c': padding .* cannot be expressed"):
        conv_padding(_conv((32, 32), 3, 1, 1, (0, 2, 2, 0), (32, 32)))  # top vs left split


def test_pad_types_split_the_total():
    assert all(sum(split(t)) == t for split in PAD_TYPES.values() for t in range(6))


# ---- controls and resize geometry ----------------------------------------------------------------


@pytest.mark.parametrize("node,expected", [
    (_conv((8, 8), 1, 1, 1, (0, 0, 0, 0), (8, 8)), [("ENABLEIM2COL", "1")]),         # pointwise
    (_conv((8, 8), 1, 2, 1, (0, 0, 0, 0), (4, 4)), [("ENABLEIM2COL", "1")]),         # strided 1x1
    (_conv((64, 64), 3, 2, 1, (0, 1, 0, 1), (32, 32)), [("PADTYPE", "PAD_BALANCED_RIGHT")]),
    (_conv((8, 8), 3, 1, 1, (1, 1, 1, 1), (8, 8), "depthwise"), []),
], ids=["pointwise", "strided-1x1", "3x3-padtype", "depthwise"])
def test_convolution_controls_are_nntools(node, expected):
    """ENABLEIM2COL on every 1x1 standard convolution, as NNTool's conv_pool_mult8.py sets it."""
    assert codegen._conv_call(node, node.out_shape)[2] == expected


def _upsample(in_hw, out_hw, c=256):
    factor = (out_hw[0] // in_hw[0], out_hw[1] // in_hw[1])
    return Node("up", "upsample", ("input",), (*in_hw, c), (*out_hw, c), stride=factor)


@pytest.mark.parametrize("node,expected", [
    (_upsample((3, 3), (6, 9)), (3, 3, 9, 6, 256)),     # (Win, Hin, Wout, Hout, Channels)
    (_upsample((1, 1), (1, 48)), (1, 256, 48, 256, 1)),  # channels into the unchanged H axis
    (_upsample((1, 48), (48, 48)), (48, 1, 48, 48, 256)),
    (_upsample((1, 1), (48, 1)), (256, 1, 256, 48, 1)),  # channels into the unchanged W axis
    (_upsample((1, 1), (1, 1)), (1, 256, 1, 256, 1)),    # identity (1x1 map): NNTool's form too
], ids=["plain", "1x1-along-w", "1xw-along-h", "1x1-along-h", "1x1-identity"])
def test_resize_geometry(node, expected):
    assert codegen.resize_geometry(node, node.out_shape) == expected


def test_resizing_a_1x1_input_along_both_axes_is_refused():
    node = _upsample((1, 1), (48, 48))
    with pytest.raises(ExportError, match="'up': resizing a 1x1x256 input to 48x48 has no AutoTiler"):
        codegen.resize_geometry(node, node.out_shape)


def test_generator_arguments_give_the_ctrl_to_the_sq8_generators_only():
    """Name, then Ctrl (0 or the control variable) where the prototype has one, then the args."""
    conv = codegen.AtLayer("S1_c", ("c",), "CNN_ConvolutionPoolAct_SQ8", ["4", "1"], [("PADTYPE", "PAD_LEFT")])
    add = codegen.AtLayer("S2_a", ("a",), "CNN_MatAddAct_SQ8", ["8", "KOP_MATADD"])
    resize = codegen.AtLayer("S3_up", ("up",), "GenerateResizeMultiChannel", ["3", "3"])
    assert codegen.generator_arguments(conv) == ['"S1_c"', "&gen_ctrl_S1_c", "4", "1"]
    assert codegen.generator_arguments(add) == ['"S2_a"', "0", "8", "KOP_MATADD"]
    assert codegen.generator_arguments(resize) == ['"S3_up"', "3", "3"]


# ---- lowering errors ---------------------------------------------------------------------------


def _graph(*nodes: Node) -> Gap8Graph:
    return Gap8Graph(list(nodes), (8, 8, 4), nodes[-1].name)


def test_crop_not_after_an_upsampling_is_refused():
    conv = _conv((8, 8), 1, 1, 1, (0, 0, 0, 0), (8, 8))
    crop = Node("crop", "crop", ("c",), (8, 8, 4), (6, 6, 4), crop=(0, 2, 0, 2))
    with pytest.raises(ExportError, match="'crop': the AutoTiler has no crop generator"):
        lower(_graph(conv, crop), {"c": CONV_ROLES})


def test_concatenating_the_graph_input_is_refused():
    conv = _conv((8, 8), 1, 1, 1, (0, 0, 0, 0), (8, 8))
    cat = Node("cat", "concat", ("input", "c"), (8, 8, 4), (8, 8, 8))
    tail = Node("tail", "conv", ("cat",), (8, 8, 8), (8, 8, 4))
    with pytest.raises(ExportError, match="'cat'"):
        lower(_graph(conv, cat, tail), {"c": CONV_ROLES, "tail": CONV_ROLES})


# ---- the model source ---------------------------------------------------------------------------

CALL = re.compile(r"^\s*(CNN_ConvolutionPoolAct_SQ8|CNN_PoolAct_SQ8|CNN_MatAddAct_SQ8|CNN_Act_SQ8|"
                  r"GenerateResizeMultiChannel)\(\"(\w+)\", (.*)\);$", re.M)
PADTYPE = re.compile(r'CNN_SetGenCtrl\(&gen_ctrl_(\w+), "PADTYPE", AT_OPT_VAL\((\w+)\)\);')
STACK = re.compile(r'AddStackedTensors\("(\w+)", (\d+), (.*)\);')
ADDNODE = re.compile(r'AddNode\("(\w+)",\s*Bindings\((\d+),(.*?)\)\s*\);', re.S)
ACT = {"KOP_NONE": None, "KOP_RELU": 0.0, "KOP_RELUN": 6.0}


def _calls(text: str) -> list[tuple[str, str, list[str]]]:
    """(generator, node name, arguments after the name and the Ctrl) of every generator call."""
    calls = []
    for m in CALL.finditer(text):
        args = [a.strip() for a in m[3].split(",")]
        if m[1] != "GenerateResizeMultiChannel":  # the SQ8 generators take a Ctrl second
            assert args[0] in ("0", f"&gen_ctrl_{m[2]}")
            args = args[1:]
        calls.append((m[1], m[2], args))
    return calls


def _keras_input_shape(model: tf_keras.Model, graph: Gap8Graph, node: Node) -> tuple[int, ...]:
    """Shape of what the node reads, from the Keras model (the producer's last fused layer)."""
    src = node.inputs[0]
    shape = model.input_shape if src == "input" else model.get_layer(graph.node(src).keras_layers[-1]).output_shape
    return tuple(shape[1:])


def _keras_activation(model: tf_keras.Model, names: list[str]):
    relus = [model.get_layer(n) for n in names if isinstance(model.get_layer(n), tf_keras.layers.ReLU)]
    return None if not relus else float(relus[0].max_value or 0.0)


def _check_conv(model, graph, name, args, padtype):
    node = graph.node(name)
    layer = model.get_layer(name)
    last = model.get_layer(node.keras_layers[-1])
    h, w, c_in = _keras_input_shape(model, graph, node)
    oh, ow, c_out = last.output_shape[1:]
    depthwise = isinstance(layer, tf_keras.layers.DepthwiseConv2D)
    subsample = [model.get_layer(k) for k in node.keras_layers if isinstance(model.get_layer(k), Subsample2D)]
    stride = subsample[0].stride if subsample else layer.strides[0]  # strided dilated depthwise
    assert args[:6] == ["4", "1", str(c_in), str(c_out), str(w), str(h)]
    assert args[6] == ("KOP_CONV_DW" if depthwise else "KOP_CONV")
    assert args[7:13] == [str(layer.kernel_size[1]), str(layer.kernel_size[0]), str(layer.dilation_rate[1]),
                          str(layer.dilation_rate[0]), str(stride), str(stride)]
    assert args[14:22] == ["KOP_NONE"] + ["0"] * 7
    assert ACT[args[22]] == _keras_activation(model, node.keras_layers)
    # the AutoTiler's padding ('same' total, split by PADTYPE) yields Keras' output size and offset
    k, d, s = layer.kernel_size[0], layer.dilation_rate[0], stride
    total = codegen._total_pad(h, k, s, d) if args[13] == "1" else 0
    top = PAD_TYPES[padtype or "PAD_BALANCED_LEFT"](total)[0]
    assert ((h - (d * (k - 1) + 1) + total) // s + 1, top) == (oh, node.padding[0])


def test_model_source_lists_exactly_the_keras_layers(model_c, adapted):
    text = model_c.read_text()
    graph = extract_graph(adapted)
    calls = _calls(text)
    pads = dict(PADTYPE.findall(text))
    expected = [n for n in graph if n.op not in ("concat", "crop")]
    assert [re.sub(r"^S\d+_", "", name) for _, name, _ in calls] == [n.name for n in expected]
    for (generator, name, args), node in zip(calls, expected, strict=True):
        keras_name = node.name
        if generator == "CNN_ConvolutionPoolAct_SQ8":
            _check_conv(adapted, graph, keras_name, args, pads.get(name))
        elif generator == "CNN_PoolAct_SQ8":
            layer = adapted.get_layer(keras_name)
            h, w, c = _keras_input_shape(adapted, graph, node)
            assert args == [str(c), str(w), str(h), "KOP_AVGPOOL", str(layer.pool_size[1]),
                            str(layer.pool_size[0]), "1", "1", str(layer.strides[1]),
                            str(layer.strides[0]), "0", "KOP_NONE"]
        elif generator == "CNN_MatAddAct_SQ8":
            h, w, c = adapted.get_layer(keras_name).output_shape[1:]
            assert args == [str(c), str(w), str(h), "KOP_MATADD", "KOP_NONE"]
        else:  # resize: a following crop is merged, the resize writes the cropped size
            layer = adapted.get_layer(keras_name)
            h, w, c = _keras_input_shape(adapted, graph, node)
            consumers = [n for n in graph if n.inputs == (keras_name,) and n.op == "crop"]
            oh, ow, _ = (consumers[0] if consumers else node).out_shape
            kop = {"nearest": "KOP_NEAREST_NEIGHBOR_RESIZE", "bilinear": "KOP_BILINEAR_RESIZE"}
            geometry = [w, h, ow, oh, c]
            if (h, w) == (1, 1):  # the channels take the axis that does not change (NNTool's form)
                assert 1 in (oh, ow)
                geometry = [w, c, ow, c, 1] if oh == 1 else [c, h, c, oh, 1]
            assert args == [*map(str, geometry), "SIGNED_INOUT", kop[layer.interpolation]]
    assert any(n.op == "crop" for n in graph) and any(n.dilation != (1, 1) and n.stride != (1, 1) for n in graph)
    # NNTool's control on 1x1 standard convolutions (MatMul kernels), on them only
    im2col = set(re.findall(r'CNN_SetGenCtrl\(&gen_ctrl_(\w+), "ENABLEIM2COL", AT_OPT_VAL\(1\)\);', text))
    pointwise = {name for (generator, name, args) in calls
                 if generator == "CNN_ConvolutionPoolAct_SQ8" and args[6:9] == ["KOP_CONV", "1", "1"]}
    assert im2col == pointwise and pointwise


def test_model_source_graph_structure(model_c, adapted):
    text = model_c.read_text()
    graph = extract_graph(adapted)
    nodes = ADDNODE.findall(text)
    assert [name for name, _, _ in nodes] == [name for _, name, _ in _calls(text)]
    for _name, count, body in nodes:
        assert int(count) == len(re.findall(r"GNodeArg\(", body)) == len(re.findall(r'GNodeArg\((GNA_IN|GNA_OUT), "\w+", 0\)', body))
    (out, count, ins), = STACK.findall(text)  # one concatenation: the ASPP
    cat = next(n for n in graph if n.op == "concat")
    assert int(count) == len(cat.inputs) == len(ins.split(","))
    projection = next(body for name, _, body in nodes if name.endswith("_concat_projection"))
    assert f'GNodeArg(GNA_IN, "{out}", 0)' in projection
    assert re.search(r'TCArgInfo\("signed char \* __restrict__", "Output_1", ARG_SCOPE_ARG, ARG_DIR_OUT', text)
    assert text.count("ConstInfo(") == len(re.findall(r'"S\d+_(Weights|Biases|Mul_scale|Mul_shift|Infos)", ARG_SCOPE_GLOBAL', text))
    cargs = re.search(r"CArgs\((\d+),", text)
    assert int(cargs[1]) == text.count("ARG_SCOPE_GLOBAL") + 2


def _model_source(arch, supernet, folder: Path, io_location: str, size: int = SIZE) -> Path:
    model = adapt(arch, supernet.model, 5, 0.35, input_size=size).model
    graph = extract_graph(model)
    memory = {"l1": 52736, "l2": 400000, "l3": 8000000, "l3_flash": 64 << 20}
    context = model_context(lower(graph, _roles(graph)), "fmas", memory, io_location, "model/tensors")
    context |= {"candidate": {"key": "k", "backbone": "mobilenetv2", "genome": MB.encode(arch),
                              "input_size": size, "classes": 5, "alpha": 0.35},
                "fmas_version": "test", "tensor_dir": "model/tensors"}
    path = folder / "fmasModel.c"
    path.write_text(render("Model.c.j2", context))
    return path


#: The fixed genome, the supernet and a minimal one (stride 3 everywhere, fewest blocks).
COMPILE_GENOMES = {"fixed": FIXED_GENOME, "supernet": MB.supernet_genome,
                   "minimal": "1111" + "000" + "000000" + "10" + "100" + "1000" + "100" + "100"}


@pytest.mark.sdk_sources
@pytest.mark.parametrize("io_location", ["AT_MEM_L2", "AT_MEM_L3_HRAM"])
@pytest.mark.parametrize("genome", COMPILE_GENOMES.values(), ids=COMPILE_GENOMES.keys())
def test_model_source_compiles_against_the_real_autotiler_headers(
        genome, io_location, tiny_mnv2_supernet, sdk_sources, tmp_path):
    """Every generator call matches the SDK's prototypes (AutoTilerLib.h, CNN_Generators_SQ8.h,
    CNN_Copy_Generators.h, ResizeGenerator.h): gcc -Wall -Werror, with the SDK's include folders."""
    source = _model_source(MB.decode(genome), tiny_mnv2_supernet, tmp_path, io_location)
    ext_managed = int(io_location == "AT_MEM_L3_HRAM")
    assert f'"fmas_L3_Memory", 0, {ext_managed},' in source.read_text()
    check_model_source(source, sdk_sources)


@pytest.mark.sdk_sources
def test_model_source_at_gap8_size_compiles_with_io_in_l3(tiny_mnv2_supernet, sdk_sources, tmp_path):
    """The 384x384 candidate, whose input/output only fit HyperRAM (two-step pooling)."""
    source = _model_source(MB.decode(FIXED_GENOME), tiny_mnv2_supernet, tmp_path, "AT_MEM_L3_HRAM",
                           size=384)
    assert source.read_text().count("CNN_PoolAct_SQ8(") == 2
    check_model_source(source, sdk_sources)


@pytest.mark.sdk_sources
def test_model_source_compile_check_can_fail(model_c, sdk_sources, tmp_path):
    """A generator call with one argument too many is an error against the real prototypes."""
    broken = tmp_path / "fmasModel.c"
    broken.write_text(re.sub(r"(CNN_MatAddAct_SQ8\(\"\w+\", 0, )", r"\g<1>1, ", model_c.read_text(),
                             count=1))
    assert broken.read_text() != model_c.read_text()
    with pytest.raises(AssertionError, match="too many arguments to function 'CNN_MatAddAct_SQ8'"):
        check_model_source(broken, sdk_sources)


def test_codegen_at_gap8_size(tiny_mnv2_supernet):
    """The adapted 384x384 candidate lowers too (two-step average pooling, no crop)."""
    graph = extract_graph(adapt(MB.decode(FIXED_GENOME), tiny_mnv2_supernet.model, 5, 0.35).model)
    model = lower(graph, _roles(graph))
    assert model.input_shape == (384, 384, 3) and model.output_shape == (384, 384, 5)
    pools = [layer for layer in model.layers if layer.generator == "CNN_PoolAct_SQ8"]
    assert len(pools) == 2 and np.prod([int(p.args[4]) for p in pools]) == 16


@pytest.mark.sdk_sources
def test_hostile_layer_names_render_to_compilable_c(tmp_path, sdk_sources):
    """Hostile Keras names (incl. '*/', quotes, keywords, names equal after sanitising) end up as
    valid, unique C identifiers and safe comments in a model source gcc accepts."""
    names = list(HOSTILE.values()) + ["conv 1", "conv-1", "conv_1"]
    nodes, prev = [], "input"
    for name in names:
        nodes.append(Node(name, "conv", (prev,), (8, 8, 4), (8, 8, 4), keras_layers=[name]))
        prev = name
    graph = Gap8Graph(nodes, (8, 8, 4), prev)
    context = model_context(lower(graph, {n: CONV_ROLES for n in names}), "fmas",
                            {"l1": 1, "l2": 2, "l3": 3, "l3_flash": 4}, "AT_MEM_L2", "model/tensors")
    context |= {"candidate": {"key": "k", "backbone": "b", "genome": "0", "input_size": 8,
                              "classes": 4, "alpha": 1}, "fmas_version": "test", "tensor_dir": "t"}
    source = tmp_path / "fmasModel.c"
    source.write_text(render("Model.c.j2", context))
    added = re.findall(r'AddNode\("([^"]*)"', source.read_text())
    assert len(added) == len(set(added)) == len(names)
    assert all(re.fullmatch(r"S\d+_?[A-Za-z0-9_]*", a) and len(a) <= 48 for a in added)
    check_model_source(source, sdk_sources)
