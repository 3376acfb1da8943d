"""Render the project templates from contexts prepared in Python (templates only place values).

Each template in ``templates/`` receives ready values: every C argument list, count and size is
computed here (or in :mod:`fmas_hw.gap8.project_writer` for the project-wide values), so a template
has loops, ``if`` on prepared flags and substitutions only -- no generator names, no arithmetic,
no formatting choices. :func:`model_context` builds what ``Model.c.j2`` lists from the lowered
:class:`~fmas_hw.gap8.codegen.AtModel`; :func:`render_outputs` writes every file of
:data:`OUTPUTS` into a project.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2

from ..errors import ExportError
from ..resources import templates_dir
from .codegen import (
    INPUT_TENSOR,
    OUTPUT_TENSOR,
    AtLayer,
    AtModel,
    ctrl_variable,
    generator_arguments,
)

#: Generated file (relative to the project, ``{prefix}`` substituted) -> template in templates/.
OUTPUTS: dict[str, str] = {
    "model/{prefix}Model.c": "Model.c.j2",
    "model/nntool_script": "nntool_script.j2",
    "Makefile": "Makefile.j2",
    "common/model_decl.mk": "common/model_decl.mk.j2",
    "common/model_rules.mk": "common/model_rules.mk.j2",
    "app_config.h": "app_config.h.j2",
    "{prefix}.h": "model_header.h.j2",
    "input.h": "input.h.j2",
    "README.md": "README.md.j2",
}
#: The open route's generated network (context from :func:`fmas_hw.gap8.open_codegen.open_context`).
OPEN_OUTPUTS: dict[str, str] = {
    "model/{prefix}Kernels.c": "open/Kernels.c.j2",
    "model/{prefix}Kernels.h": "open/Kernels.h.j2",
}
#: What ``<prefix>Kernels.h`` includes; ``<prefix>.h`` declares ``<prefix>_L3_Flash`` (NNTool's
#: order). ``{prefix}`` is substituted.
USED_FILES = ("Gap.h", "{prefix}.h", "CNN_BasicKernels_SQ8.h", "CNN_Copy.h", "ResizeBasicKernels.h")


# ---- the model source ------------------------------------------------------------------------


def counted(items: list[str]) -> list[str]:
    """The AutoTiler's variadic convention: the number of items, then the items (C text)."""
    return [str(len(items)), *items]


def c_strings(names: list[str]) -> list[str]:
    """Names (already sanitised C identifiers or file names) as C string literals."""
    return [f'"{name}"' for name in names]


def layer_context(layer: AtLayer) -> dict[str, Any]:
    """What ``Model.c.j2`` writes for one generator call and its ``AddNode``."""
    return {
        "name": layer.name,
        "comment": layer.comment,
        "generator": layer.generator,
        "arguments": generator_arguments(layer),
        "ctrl": layer.ctrl,
        "ctrl_variable": ctrl_variable(layer),
        "bindings": layer.bindings,
        "binding_count": len(layer.bindings),
    }


def model_context(model: AtModel, prefix: str, memory: dict[str, int], io_location: str,
                  tensor_dir: str) -> dict[str, Any]:
    """Context of ``Model.c.j2``: the lowered model plus memory settings.

    Args:
        model: the lowered model.
        prefix: model prefix (``<prefix>CNN``, ``<prefix>_L2_Memory``...).
        memory: AutoTiler budgets ``l1``, ``l2``, ``l3``, ``l3_flash`` in bytes.
        io_location: AutoTiler memory of the graph input/output (``AT_MEM_L2`` or
            ``AT_MEM_L3_HRAM``).
        tensor_dir: folder of the tensor files, relative to the project (where GenTile runs).
    """
    consts = [{"ctype": c.ctype, "name": c.name, "bits": c.bits,
               "file": f"{tensor_dir}/{c.name}.tensor"} for c in model.consts]
    io = {"ctype": "signed char", "home": io_location, "exec": io_location}
    return {
        # I/O in HyperRAM: the application owns the device (it writes the input and reads the
        # output there); otherwise the generated constructor opens it, file-static to the kernels.
        "l3_ram_ext_managed": int(io_location == "AT_MEM_L3_HRAM"),
        "prefix": prefix,
        "kernel_count": len(model.layers),
        "layers": [layer_context(layer) for layer in model.layers],
        "graph_input": {**io, "name": INPUT_TENSOR},
        "graph_output": {**io, "name": OUTPUT_TENSOR},
        "consts": consts,
        "carg_count": len(consts) + 2,
        "locals": model.locals,
        "local_count": len(model.locals),
        "stacks": [[*c_strings([out]), *counted(c_strings(ins))] for out, ins in model.stacks],
        "memory": memory,
        "used_files": counted(c_strings([name.format(prefix=prefix) for name in USED_FILES])),
    }


# ---- rendering -------------------------------------------------------------------------------


def environment(folder: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment of the templates: undefined variables are errors."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder or templates_dir())),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
        trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render(template: str, context: dict[str, Any], env: jinja2.Environment | None = None) -> str:
    """Render one template.

    Raises:
        ExportError: the template is missing, or uses a variable the context lacks (names both).
    """
    env = env or environment()
    try:
        return env.get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        match = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'", str(exc))
        variable = next((g for g in (match.groups() if match else ()) if g), str(exc))
        raise ExportError(f"template '{template}' uses variable '{variable}' that the code "
                          f"generator did not provide ({exc})") from exc
    except jinja2.TemplateNotFound as exc:
        raise ExportError(f"template '{template}' not found in {env.loader.searchpath}") from exc  # type: ignore[union-attr]


def render_outputs(out_dir: Path, context: dict[str, Any], prefix: str,
                   outputs: dict[str, str] | None = None) -> list[Path]:
    """Render every ``{output: template}`` of ``outputs`` (default :data:`OUTPUTS`) into ``out_dir``.

    Returns:
        The written files.
    """
    env = environment()
    written = []
    for output, template in (outputs or OUTPUTS).items():
        path = out_dir / output.format(prefix=prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(template, context, env))
        written.append(path)
    return written
