"""``fmas-hw measure``: GAP8 cycles of one candidate on a target (estimate, gvsoc, board, simulated).

The candidate is given either by ``--backbone/--genome`` or by a generated project (``--project``,
written by ``fmas-hw export``). The estimate works from the architecture directly; GVSoC, the
board and the simulated target need the project, which is generated into ``--work-dir`` when only
a genome is given. Every figure is printed with its label: "estimated (estimate)", "estimated
(simulated)" or "measured (gvsoc|board)", and with the candidate's GAP8 fit verdict
(:mod:`fmas_hw.gap8.fit`); the figure of a network that does not fit GAP8 memory is labelled as
one for a network that cannot run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from ..gap8.candidate_file import CandidateSpec, has_candidate, read_candidate
from ..gap8.fit import FitVerdict, known_fit, not_runnable_label, unknown_fit
from .options import (
    GivenGenome,
    alpha_option,
    backbone_option,
    classes_option,
    cycle_model_option,
    echo_json,
    echo_settings,
    genome_option,
    json_option,
    network_options,
    target_option,
    weights_option,
)
from .outputs import writable_dir


@click.command()
@target_option
@backbone_option
@genome_option
@click.option("--project", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A generated GAP8 project (fmas-hw export) instead of --backbone/--genome.")
@classes_option
@alpha_option
@click.option("--per-layer", is_flag=True, help="Print the per-layer cycles.")
@json_option
@weights_option
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("fmas-projects"),
              show_default=True, help="Where the projects of gvsoc/board/simulated are generated from --genome.")
@cycle_model_option
@click.option("--port", envvar="FMAS_BOARD_PORT", default=None, help="Board UART (default: found by USB id).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=None,
              help="Run timeout in seconds (default: the target's).")
@click.option("--route", type=click.Choice(["open", "autotiler", "nntool"]), default=None,
              help="gvsoc/board: how the project is generated and built (default: open, fmas-hw's "
                   "own tiled C; with --project, the project's own route).")
def measure(target_name: str, backbone: str, genome: GivenGenome, project: Path | None, classes: int | None,
            alpha: float | None, per_layer: bool, as_json: bool, weights: str | None, work_dir: Path,
            cycle_model: str | None, port: str | None, timeout_s: float | None, route: str | None) -> None:
    """Measure (or estimate) the GAP8 cycles of one candidate (default: the supernet)."""
    from ..gap8.candidate_file import OPEN_ROUTE, project_route
    from ..targets.options import TargetOptions
    from ..targets.registry import open_target

    route = route or (project_route(project) if project is not None else OPEN_ROUTE)
    target = open_target(target_name, TargetOptions(cycle_model=cycle_model, port=port, route=route))
    target.check_ready()  # a missing SDK or board: said now, not after generating a project
    if project is not None:
        if click.get_current_context().get_parameter_source("genome") is ParameterSource.COMMANDLINE:
            raise click.BadParameter("give either --project or --genome, not both", param_hint="--genome")
        result = target.checked(target.measure_project(project, timeout_s=timeout_s))
        where, features = str(project), None
        verdict = _project_fit(project)
    else:
        net = network_options(backbone, weights, classes, alpha, None)
        echo_settings(net, ("classes", "alpha"))
        spec = CandidateSpec(genome.arch, net.classes, net.alpha)  # at the adapted size (384)
        verdict = _fit(spec)
        if target.needs_project:
            writable_dir(work_dir, "--work-dir")  # before the project is generated
        result, where, features = _measure_candidate(target, spec, weights, work_dir, timeout_s,
                                                     per_layer and as_json, route)
    if as_json:
        echo_json(_as_json(result, where, per_layer, features, verdict))
        return
    _print(result, where, per_layer, verdict)


def _fit(spec: CandidateSpec) -> FitVerdict:
    return known_fit(spec.arch, spec.classes, spec.alpha, spec.input_size)


def _project_fit(project: Path) -> FitVerdict:
    """The fit verdict of a project's candidate (unknown when the folder has no ``candidate.json``)."""
    return _fit(read_candidate(project).spec) if has_candidate(project) else unknown_fit("no candidate.json")


def _label(result, verdict: FitVerdict) -> str:
    """The figure's label; a network that cannot fit GAP8 memory says so in it."""
    return not_runnable_label(result.label) if verdict.fits is False else result.label


def _measure_candidate(target, spec: CandidateSpec, weights: str | None, work_dir: Path,
                       timeout_s: float | None, with_features: bool, route: str):
    """(measurement, description, the model's layer features or None) of ``spec``."""
    from ..gap8.generated_projects import GeneratedProjects

    projects = GeneratedProjects(work_dir, weights=weights, route=route)
    result = target.checked(target.measure_candidate(spec, projects, timeout_s))
    where = spec.describe()
    if target.needs_project:
        where += f", project {work_dir / spec.arch.key}"
    return result, where, target.layer_features(spec) if with_features else None


def _as_json(result, where: str, per_layer: bool, features, verdict: FitVerdict) -> dict[str, Any]:
    """The ``--json`` object; with ``--per-layer`` an estimate adds each layer's model features
    (the fields ``fmas-hw calibrate`` reads, to be joined with measured cycles). ``gap8_fit`` is
    the fit verdict, ``runs_on_gap8`` its yes/no (None: unknown, e.g. a project without
    ``candidate.json``)."""
    data = {"candidate": where, "cycles": result.total_cycles, "latency_ms": result.latency_ms,
            "cluster_freq_hz": result.cluster_freq_hz, "source": result.source,
            "estimated": result.estimated, "label": _label(result, verdict),
            "runs_on_gap8": verdict.fits, "gap8_fit": verdict.to_dict(),
            "tool_versions": result.tool_versions, "log_path": result.log_path,
            "per_layer": [layer.to_dict() for layer in result.per_layer] if per_layer else []}
    if features is not None:
        data["features"] = features
    return data


def _print(result, where: str, per_layer: bool, verdict: FitVerdict) -> None:
    click.echo(f"candidate  {where}")
    click.echo(f"cycles     {result.total_cycles:,} cycles, {_label(result, verdict)}")
    click.echo(f"latency    {result.latency_ms:.1f} ms at {result.cluster_freq_hz / 1e6:g} MHz (cluster)")
    if result.log_path:
        click.echo(f"log        {result.log_path}")
    for line in verdict.lines():
        click.echo(line)
    if not per_layer:
        return
    total = max(result.total_cycles, 1)
    click.echo(f"\n{'layer':<36} {'cycles':>14} {'share':>7} {'ops':>14} {'ops/cycle':>9}")
    for layer in result.per_layer:
        ops = "-" if layer.operations is None else f"{layer.operations:,}"
        rate = "-" if layer.ops_per_cycle is None else f"{layer.ops_per_cycle:.2f}"
        click.echo(f"{layer.name:<36} {layer.cycles:>14,} {layer.cycles / total * 100:>6.1f}% {ops:>14} {rate:>9}")
