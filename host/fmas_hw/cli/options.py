"""Options shared by several commands, so every command spells them the same way."""

from __future__ import annotations

import json
from typing import Any

import click

from ..space import SPACES
from ..targets.registry import DEFAULT_TARGET, target_names

backbone_option = click.option(
    "--backbone", type=click.Choice(list(SPACES)), default="mobilenetv2",
    show_default=True, help="Supernet backbone / search space.")
genome_option = click.option(
    "--genome", default=None, metavar="BITS",
    help="Candidate genome as a bit string (SPEC §2 layout); default: the supernet.")
input_size_option = click.option(
    "--input-size", type=click.IntRange(min=32), default=None,
    help="Square input size in pixels (default: "
         + ", ".join(f"{space.default_input_size} for {name}" for name, space in SPACES.items()) + ").")
weights_option = click.option(
    "--weights", type=click.Path(exists=True, dir_okay=False), default=None,
    help="Supernet weights (.h5, keras-deeplab-v3-plus layout or `fmas-hw train` output).")
classes_option = click.option(
    "--classes", type=click.IntRange(min=2), default=21, show_default=True, help="Number of classes.")
alpha_option = click.option(
    "--alpha", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
    help="Width multiplier of the backbone (reduced-width supernets for small machines).")
target_option = click.option(
    "--target", "target_name", type=click.Choice(target_names()), default=DEFAULT_TARGET,
    show_default=True, help="Where the cycles come from.")
cycle_model_option = click.option(
    "--cycle-model", type=click.Path(exists=True, dir_okay=False), envvar="FMAS_CYCLE_MODEL",
    default=None, help="Cycle-model TOML of the estimate target (fmas-hw calibrate output).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def echo_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))
