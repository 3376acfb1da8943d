"""``fmas-hw eval``: mIoU error of a candidate on the validation subset, without fine-tuning."""

from __future__ import annotations

import click

from .options import backbone_option, echo_json, genome_option, json_option


@click.command()
@backbone_option
@genome_option
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False), help="VOC-format data set.")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Supernet weights (.h5); without them the network has initialiser weights.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True), default=0.2, show_default=True,
              help="Leading fraction of val.txt (file order) to evaluate on.")
@click.option("--input-size", type=click.IntRange(min=32), default=None,
              help="Input size (default: the weights' manifest, else the backbone default).")
@click.option("--classes", type=click.IntRange(min=2), default=None)
@click.option("--alpha", type=click.FloatRange(min=0.05), default=None)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--gap8", is_flag=True,
              help="Also evaluate the GAP8-adapted network (2-branch ASPP, integer upsampling, "
                   "average-pool chains) at the same input size and report the mIoU change.")
@json_option
def evaluate(backbone, genome, data, weights, val_fraction, input_size, classes, alpha, batch, gap8,
             as_json) -> None:
    """Error (1 - mIoU) of a candidate (default: the supernet) on the first --val-fraction of val."""
    from ..eval.evaluator import evaluate as run_evaluation
    from ..model.manifest import build_options, read_manifest
    from ..model.supernet import Supernet
    from ..space import get_space

    space = get_space(backbone)
    arch = space.decode(genome if genome is not None else space.supernet_genome)
    classes, alpha = build_options(weights, backbone, classes, alpha)
    size = input_size or read_manifest(weights).get("input_size")
    supernet = Supernet.build(backbone, size, classes, alpha, weights)
    result = run_evaluation(arch, supernet, data, val_fraction, batch)
    out = {"genome": space.encode(arch), "key": arch.key, **result.to_dict(), "val_fraction": val_fraction}
    if gap8:
        out["gap8_miou"] = _adapted_miou(arch, supernet, data, val_fraction, batch)
        out["gap8_miou_change"] = out["gap8_miou"] - result.miou
    if as_json:
        echo_json(out)
    else:
        click.echo(f"mIoU {result.miou:.4f}  error {result.error:.4f}  on {result.images} images "
                   f"({result.seconds:.2f} s)")
        if gap8:
            click.echo(f"GAP8-adapted mIoU {out['gap8_miou']:.4f}  change {100 * out['gap8_miou_change']:+.2f} "
                       "points (adaptations 2-4 at the same input size)")


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
