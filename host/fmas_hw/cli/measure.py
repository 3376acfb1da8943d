"""``fmas-hw measure``: GAP8 cycles of one candidate on a target (estimate, gvsoc or board).

The candidate is given either by ``--backbone/--genome`` or by a generated project (``--project``,
written by ``fmas-hw export``). The estimate works from the architecture directly; GVSoC and the
board need the project, which is generated into ``--work-dir`` when only a genome is given.
Every figure is printed with its label: "estimated (estimate)" or "measured (gvsoc|board)".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .options import (
    alpha_option,
    backbone_option,
    classes_option,
    echo_json,
    genome_option,
    json_option,
)

TARGETS = ("estimate", "gvsoc", "board")


@click.command()
@click.option("--target", "target_name", type=click.Choice(TARGETS), default="estimate", show_default=True,
              help="Where the cycles come from.")
@backbone_option
@genome_option
@click.option("--project", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="A generated GAP8 project (fmas-hw export) instead of --backbone/--genome.")
@classes_option
@alpha_option
@click.option("--per-layer", is_flag=True, help="Print the per-layer cycles.")
@json_option
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Supernet weights for a generated project (gvsoc/board; cycles do not depend on them).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("fmas-projects"),
              show_default=True, help="Where gvsoc/board projects are generated from --genome.")
@click.option("--cycle-model", type=click.Path(exists=True, dir_okay=False), envvar="FMAS_CYCLE_MODEL",
              default=None, help="Cycle-model TOML of the estimate (fmas-hw calibrate output).")
@click.option("--port", envvar="FMAS_BOARD_PORT", default=None, help="Board UART (default: found by USB id).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=1), default=None,
              help="Run timeout in seconds (default: the target's).")
def measure(target_name: str, backbone: str, genome: str | None, project: Path | None, classes: int,
            alpha: float, per_layer: bool, as_json: bool, weights: str | None, work_dir: Path,
            cycle_model: str | None, port: str | None, timeout_s: float | None) -> None:
    """Measure (or estimate) the GAP8 cycles of one candidate (default: the supernet)."""
    from ..targets.base import get_target

    options: dict[str, Any] = {}
    if target_name == "estimate" and cycle_model:
        options["model_file"] = cycle_model
    if target_name == "board" and port:
        options["port"] = port
    target = get_target(target_name, **options)
    if project is not None:
        if genome is not None:
            raise click.BadParameter("give either --project or --genome, not both", param_hint="--genome")
        result, where, features = target.measure(project, timeout_s=timeout_s), str(project), None
    else:
        result, where, features = _measure_genome(target, backbone, genome, classes, alpha, weights,
                                                  work_dir, timeout_s)
    if as_json:
        echo_json(_as_json(result, where, per_layer, features))
        return
    _print(result, where, per_layer)


def _measure_genome(target, backbone: str, genome: str | None, classes: int, alpha: float,
                    weights: str | None, work_dir: Path, timeout_s: float | None):
    """(measurement, description, estimate features or None) of candidate ``genome`` of ``backbone``."""
    from ..space import get_space

    space = get_space(backbone)
    arch = space.decode(genome if genome is not None else space.supernet_genome)
    where = f"{backbone} {space.encode(arch)} ({classes} classes, alpha {alpha:g})"
    if target.name == "estimate":
        features, plan = target.features(arch, classes, alpha)
        return target.measurement(features, plan), where, features
    from ..regress import ensure_project
    from ..targets.sdk import check_sdk

    check_sdk()  # say what is missing before spending time generating a project
    project = ensure_project(arch, work_dir / arch.key, classes, alpha, weights=weights)
    return target.measure(project, timeout_s=timeout_s), f"{where}, project {project}", None


def _as_json(result, where: str, per_layer: bool, features) -> dict[str, Any]:
    """The ``--json`` object; with ``--per-layer`` an estimate adds each layer's model features
    (the fields ``fmas-hw calibrate`` reads, to be joined with measured cycles)."""
    data = {"candidate": where, "cycles": result.total_cycles, "latency_ms": result.latency_ms,
            "cluster_freq_hz": result.cluster_freq_hz, "source": result.source,
            "estimated": result.estimated, "label": result.label,
            "tool_versions": result.tool_versions, "log_path": result.log_path,
            "per_layer": [layer.to_dict() for layer in result.per_layer] if per_layer else []}
    if per_layer and features is not None:
        data["features"] = [f.to_dict() for f in features if f.runs]
    return data


def _print(result, where: str, per_layer: bool) -> None:
    click.echo(f"candidate  {where}")
    click.echo(f"cycles     {result.total_cycles:,} {result.label}")
    click.echo(f"latency    {result.latency_ms:.1f} ms at {result.cluster_freq_hz / 1e6:g} MHz (cluster)")
    if result.log_path:
        click.echo(f"log        {result.log_path}")
    if not per_layer:
        return
    total = max(result.total_cycles, 1)
    click.echo(f"\n{'layer':<36} {'cycles':>14} {'share':>7} {'ops':>14} {'ops/cycle':>9}")
    for layer in result.per_layer:
        ops = "-" if layer.operations is None else f"{layer.operations:,}"
        rate = "-" if layer.ops_per_cycle is None else f"{layer.ops_per_cycle:.2f}"
        click.echo(f"{layer.name:<36} {layer.cycles:>14,} {layer.cycles / total * 100:>6.1f}% {ops:>14} {rate:>9}")
