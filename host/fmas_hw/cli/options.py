"""Options shared by several commands, so every command spells (and resolves) them the same way.

* ``--backbone`` / ``--genome``: :data:`GENOME` turns the bit string into the candidate of the
  backbone's space (the supernet when not given), with click's own error for a bad genome;
* ``--weights`` / ``--classes`` / ``--alpha`` / ``--input-size``: the supernet's settings, taken
  from the weights' manifest when not given (:func:`network_options`);
* ``--target`` / ``--cycle-model``: the measurement target, from the one registry of targets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from ..errors import FmasError
from ..model.device import DEVICE_CHOICES
from ..space import SPACES, Arch, get_space
from ..targets.registry import DEFAULT_TARGET, target_class, target_names

if TYPE_CHECKING:  # the model package imports TensorFlow: not for --help
    from ..model.manifest import NetworkSettings


@dataclass(frozen=True)
class GivenGenome:
    """A ``--genome`` as given (``bits``, validated) and the candidate it decodes to."""

    bits: str
    arch: Arch


class GenomeType(click.ParamType):
    """A genome bit string of the ``--backbone`` space (``--backbone`` is read first: it is eager)."""

    name = "genome"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> GivenGenome:
        if isinstance(value, GivenGenome):
            return value
        backbone = (ctx.params.get("backbone") if ctx else None) or DEFAULT_BACKBONE
        space = get_space(backbone)
        bits = str(value).strip()
        try:
            return GivenGenome(bits, space.decode(bits))
        except FmasError as exc:  # a genome of the wrong length or with other characters than 0/1
            self.fail(str(exc), param, ctx)


def _supernet_when_absent(ctx: click.Context, param: click.Parameter, value: GivenGenome | None) -> GivenGenome:
    if value is not None:
        return value
    space = get_space(ctx.params.get("backbone") or DEFAULT_BACKBONE)
    return GivenGenome(space.supernet_genome, space.supernet())


DEFAULT_BACKBONE = "mobilenetv2"
GENOME = GenomeType()

backbone_option = click.option(
    "--backbone", type=click.Choice(list(SPACES)), default=DEFAULT_BACKBONE, show_default=True,
    is_eager=True, help="Supernet backbone / search space.")
genome_option = click.option(
    "--genome", "genome", type=GENOME, default=None, callback=_supernet_when_absent, metavar="BITS",
    help="Candidate genome as a bit string (SPEC §2 layout); default: the supernet.")
input_size_option = click.option(
    "--input-size", type=click.IntRange(min=32), default=None,
    help="Square input size in pixels (default: the weights' manifest, else "
         + ", ".join(f"{space.default_input_size} for {name}" for name, space in SPACES.items()) + ").")
weights_option = click.option(
    "--weights", type=click.Path(exists=True, dir_okay=False), default=None,
    help="Supernet weights (.h5, keras-deeplab-v3-plus layout or `fmas-hw train` output); their "
         "manifest supplies --classes, --alpha and --input-size when not given.")
classes_option = click.option(
    "--classes", type=click.IntRange(min=2), default=None,
    help="Classes of the supernet (default: the weights' manifest, else 21).")
alpha_option = click.option(
    "--alpha", type=click.FloatRange(min=0.05), default=None,
    help="Width multiplier of the backbone (default: the weights' manifest, else 1.0).")
#: ``--target``'s help: every registered target with its one-line summary.
TARGET_HELP = ("Where the cycles come from: "
               + "; ".join(f"{name}, {target_class(name).summary}" for name in target_names()) + ".")
target_option = click.option(
    "--target", "target_name", type=click.Choice(target_names()), default=DEFAULT_TARGET,
    show_default=True, help=TARGET_HELP)
cycle_model_option = click.option(
    "--cycle-model", type=click.Path(exists=True, dir_okay=False), envvar="FMAS_CYCLE_MODEL",
    default=None, help="Cycle-model TOML of the estimate target (fmas-hw calibrate output).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
#: What ``--device`` means, for every command that runs models.
DEVICE_HELP = ("Where TensorFlow runs the models: auto (the GPU when TensorFlow sees one, else the CPU), cpu, "
               "or gpu (an error without one)")
device_option = click.option("--device", type=click.Choice(DEVICE_CHOICES), default="auto", show_default=True,
                             help=DEVICE_HELP)


def network_options(backbone: str, weights: str | None, classes: int | None, alpha: float | None,
                    input_size: int | None) -> NetworkSettings:
    """``--classes/--alpha/--input-size`` as given, else from the weights' manifest, else the
    defaults (21 classes, width 1.0, the backbone's input size), with where each came from.

    Raises:
        WeightsError: the manifest is unreadable or names another backbone.
    """
    from ..model.manifest import network_settings

    return network_settings(weights, backbone, classes, alpha, input_size,
                            get_space(backbone).default_input_size)


def echo_settings(net: NetworkSettings, keys: tuple[str, ...] = ("input_size", "classes", "alpha")) -> None:
    """Say on stderr which network settings a command used and where they came from (stderr:
    ``--json`` output stays one object)."""
    click.echo(f"network: {net.describe(keys)}", err=True)


random_init_option = click.option(
    "--random-init", is_flag=True,
    help="Run without --weights on a randomly initialised supernet (every error is then about "
         "1.0: only for testing the tool chain; the results are labelled so).")


def require_weights(weights: str | None, random_init: bool) -> None:
    """Refuse an accuracy command without ``--weights`` unless ``--random-init`` asks for it.

    Raises:
        click.UsageError: no weights and no ``--random-init``, or both.
    """
    if weights is None and not random_init:
        raise click.UsageError(
            "no --weights: a randomly initialised supernet scores every candidate near error 1.0. "
            "Pass --weights FILE (e.g. models/supernets/mobilenetv2_synth8_64.h5), or --random-init "
            "to run on random weights anyway (results labelled as such)")
    if weights is not None and random_init:
        raise click.UsageError("--random-init and --weights contradict each other: give one of them")


def echo_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON on stdout."""
    click.echo(json.dumps(obj, indent=2, sort_keys=False, default=str))
