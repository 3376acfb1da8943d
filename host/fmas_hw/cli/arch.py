"""``fmas-hw arch``: decode a genome and print its genes, parameter count, FLOPs and GAP8 fit.

FLOPs are counted at ``--input-size`` (the float network's size); the GAP8 fit verdict is that of
the GAP8-adapted network at its adapted input size (384), where GAP8 would run it.
"""

from __future__ import annotations

import click

from .options import (
    GivenGenome,
    alpha_option,
    backbone_option,
    classes_option,
    echo_json,
    echo_settings,
    genome_option,
    input_size_option,
    json_option,
    network_options,
    weights_option,
)


@click.command()
@backbone_option
@genome_option
@weights_option
@input_size_option
@classes_option
@alpha_option
@json_option
def arch(backbone: str, genome: GivenGenome, weights: str | None, input_size: int | None,
         classes: int | None, alpha: float | None, as_json: bool) -> None:
    """Print the decoded genes, parameters, FLOPs and GAP8 fit of a candidate (default: the supernet).

    FLOPs are TensorFlow-profiler float operations of one batch-1 inference (SPEC §2.1) at the
    input size; the GAP8 fit (L1 tiles, L2 peak, L3, flash) is the adapted network's at 384x384.
    """
    from ..eval.costs import arch_costs
    from ..gap8.fit import known_fit
    from ..space import get_space

    net = network_options(backbone, weights, classes, alpha, input_size)
    echo_settings(net)
    info = get_space(backbone).describe(genome.bits)
    size, classes, alpha = net.input_size, net.classes, net.alpha
    costs = arch_costs(genome.arch, size, classes, alpha)
    verdict = known_fit(genome.arch, classes, alpha)
    result = {"backbone": backbone, **info, "input_size": size, "classes": classes, "alpha": alpha, **costs,
              "gap8_fit": verdict.to_dict()}
    if as_json:
        echo_json(result)
        return
    click.echo(f"backbone         {backbone} (input {size}x{size}, {classes} classes, alpha {alpha})")
    click.echo(f"genome           {info['genome']}")
    if info["canonical_genome"] != info["genome"]:
        click.echo(f"canonical genome {info['canonical_genome']} (same network)")
    click.echo(f"key              {info['key']}")
    width = max(15, *(len(name) + 1 for name in info["genes"]))  # gene names never run into values
    for name, value in info["genes"].items():
        click.echo(f"  {name:<{width}}{value}")
    click.echo(f"parameters       {costs['params']:,} ({costs['params'] / 1e6:.2f} M)")
    click.echo(f"FLOPs            {costs['flops']:,} ({costs['flops'] / 1e9:.2f} G, TF profiler, "
               f"at {size}x{size} input)")
    for line in verdict.lines():
        click.echo(line)
