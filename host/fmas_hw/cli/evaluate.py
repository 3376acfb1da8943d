"""``fmas-hw eval``: mIoU error of a candidate on the validation subset, without fine-tuning."""

from __future__ import annotations

import click

from .options import (
    GivenGenome,
    alpha_option,
    backbone_option,
    classes_option,
    device_option,
    echo_json,
    echo_settings,
    genome_option,
    input_size_option,
    json_option,
    network_options,
    random_init_option,
    require_weights,
    weights_option,
)


@click.command()
@backbone_option
@genome_option
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False), help="VOC-format data set.")
@weights_option
@random_init_option
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
              help="Leading fraction of val.txt (file order) to evaluate on.")
@input_size_option
@classes_option
@alpha_option
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Forward-pass batch  [default: sized for the device]")
@click.option("--gap8", is_flag=True,
              help="Also evaluate the GAP8-adapted network (2-branch ASPP, integer upsampling, "
                   "average-pool chains) at the same input size and report the mIoU change.")
@device_option
@json_option
def evaluate(backbone: str, genome: GivenGenome, data: str, weights: str | None, random_init: bool,
             val_fraction: float, input_size: int | None, classes: int | None, alpha: float | None,
             batch: int | None, gap8: bool, device: str, as_json: bool) -> None:
    """Error (1 - mIoU) of a candidate (default: the supernet) on the first --val-fraction of val.

    Needs --weights (or --random-init, to score a randomly initialised supernet on purpose).
    """
    from ..eval.evaluator import evaluate as run_evaluation
    from ..model.device import use_device
    from ..model.supernet import Supernet
    from ..space import get_space

    require_weights(weights, random_init)
    arch = genome.arch
    net = network_options(backbone, weights, classes, alpha, input_size)
    echo_settings(net)
    chosen = use_device(device)  # before the supernet: TensorFlow fixes its devices then
    click.echo(f"device: {chosen.describe()}", err=True)
    supernet = Supernet.build(backbone, net.input_size, net.classes, net.alpha, weights)
    result = run_evaluation(arch, supernet, data, val_fraction, batch, chosen)
    out = {"genome": get_space(backbone).encode(arch), "key": arch.key, **result.to_dict(),
           "val_fraction": val_fraction, "weights": weights, "random_init": random_init,
           "device": chosen.describe()}
    if gap8:
        out["gap8_miou"] = _adapted_miou(arch, supernet, data, val_fraction, batch or 8)
        out["gap8_miou_change"] = out["gap8_miou"] - result.miou
    if as_json:
        echo_json(out)
    else:
        click.echo(f"mIoU {result.miou:.4f}  error {result.error:.4f}  on {result.images} images "
                   f"({result.seconds:.2f} s)" + (RANDOM_INIT_LABEL if random_init else ""))
        if gap8:
            click.echo(f"GAP8-adapted mIoU {out['gap8_miou']:.4f}  change {100 * out['gap8_miou_change']:+.2f} "
                       "points (adaptations 2-4 at the same input size)")


#: What every figure of a --random-init evaluation says about itself.
RANDOM_INIT_LABEL = "  [random initialisation: no trained weights, not a real score]"


def _adapted_miou(arch, supernet, data, fraction: float, batch: int) -> float:
    """mIoU of the GAP8-adapted candidate (weights kept) on the same subset and input size."""
    from ..data.cache import load_split_arrays
    from ..data.voc import VocDataset
    from ..eval.evaluator import confusion_matrix
    from ..gap8.adapt import adapt

    adapted = adapt(arch, supernet.subnet(arch), supernet.classes, supernet.alpha, supernet.input_size).model
    images, labels = load_split_arrays(VocDataset(data, supernet.classes), "val", supernet.input_size, fraction,
                                       backbone=supernet.backbone)
    return confusion_matrix(adapted, images, labels, supernet.classes, batch).miou()
