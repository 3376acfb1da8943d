"""``fmas-hw arch``: decode a genome and print its genes, parameter count and FLOPs."""

from __future__ import annotations

import click

from .options import (
    backbone_option,
    classes_option,
    echo_json,
    genome_option,
    input_size_option,
    json_option,
)


@click.command()
@backbone_option
@genome_option
@input_size_option
@classes_option
@click.option("--alpha", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="MobileNetV2 width multiplier.")
@json_option
def arch(backbone: str, genome: str | None, input_size: int | None, classes: int, alpha: float,
         as_json: bool) -> None:
    """Print the decoded genes, parameters and FLOPs of a candidate (default: the supernet).

    FLOPs are TensorFlow-profiler float operations of one batch-1 inference (SPEC §2.1).
    """
    from ..eval.costs import arch_costs
    from ..space import get_space

    space = get_space(backbone)
    info = space.describe(genome if genome is not None else space.supernet_genome)
    size = input_size or space.default_input_size
    costs = arch_costs(space.decode(info["genome"]), size, classes, alpha)
    result = {"backbone": backbone, **info, "input_size": size, "classes": classes, "alpha": alpha, **costs}
    if as_json:
        echo_json(result)
        return
    click.echo(f"backbone         {backbone} (input {size}x{size}, {classes} classes, alpha {alpha})")
    click.echo(f"genome           {info['genome']}")
    if info["canonical_genome"] != info["genome"]:
        click.echo(f"canonical genome {info['canonical_genome']} (same network)")
    click.echo(f"key              {info['key']}")
    for name, value in info["genes"].items():
        click.echo(f"  {name:<15}{value}")
    click.echo(f"parameters       {costs['params']:,} ({costs['params'] / 1e6:.2f} M)")
    click.echo(f"FLOPs            {costs['flops']:,} ({costs['flops'] / 1e9:.2f} G, TF profiler)")
