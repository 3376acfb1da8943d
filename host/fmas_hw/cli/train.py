"""``fmas-hw train``: train a supernet on VOC-format data."""

from __future__ import annotations

import click

from .options import backbone_option, device_option, echo_json, json_option
from .outputs import writable_file


@click.command()
@backbone_option
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False), help="VOC-format data set.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Weights file to write (.h5).")
@click.option("--input-size", type=click.IntRange(min=32), default=128, show_default=True)
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--alpha", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="MobileNetV2 width multiplier.")
@click.option("--classes", type=click.IntRange(min=2), default=21, show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default="sgd", show_default=True,
              help="sgd: DeepLab practice (momentum 0.9, poly decay); adam: faster from scratch.")
@click.option("--lr", "learning_rate", type=float, default=None,
              help="Base learning rate (default 0.01 for sgd, 1e-3 for adam).")
@click.option("--weight-decay", type=float, default=4e-5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--init-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Start from these weights (e.g. public keras-deeplab-v3-plus VOC weights).")
@device_option
@json_option
def train(as_json: bool, **options) -> None:
    """Train a supernet; checkpoints every epoch (re-run the same command to resume).

    Writes OUT (weights), OUT with .json (manifest: command, seed, resolution, val mIoU) and
    OUT with .ckpt/ (checkpoints).
    """
    from ..training.config import TrainConfig
    from ..training.supernet import train as run_training

    writable_file(options["out"], "--out")  # before the epochs, not after them
    manifest = run_training(TrainConfig(**options), log=lambda m: click.echo(m, err=as_json))
    if as_json:
        echo_json(manifest)
    else:
        click.echo(f"weights: {options['out']}  val mIoU: {manifest['val_miou']:.4f} "
                   f"({manifest['val_images']} images)")
