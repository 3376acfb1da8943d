"""``fmas-hw finetune``: fine-tune the final Pareto candidates of a search."""

from __future__ import annotations

import click

from .options import device_option, echo_json, json_option
from .outputs import writable_dir


@click.command()
@click.option("--store", required=True, type=click.Path(exists=True, dir_okay=False), help="Search store (SQLite).")
@click.option("--top", type=click.IntRange(min=1), default=8, show_default=True,
              help="Fine-tune the K most accurate candidates of the final front.")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Maximum epochs (early stopping on validation loss usually ends at 6-10).")
@click.option("--batch", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--lr", "learning_rate", type=click.FloatRange(min=0, min_open=True), default=1e-6,
              show_default=True)
@click.option("--lr-decay", type=click.FloatRange(min=0, max=1, min_open=True), default=0.94, show_default=True,
              help="Learning-rate factor per epoch.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=4e-5, show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=2, show_default=True,
              help="Epochs without validation-loss improvement before stopping.")
@click.option("--data", type=click.Path(exists=True, file_okay=False), default=None,
              help="VOC-format data (default: the search's).")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Supernet weights (default: the search's; others are refused without --other-weights).")
@click.option("--other-weights", is_flag=True, default=False,
              help="Fine-tune --weights whose content differs from the search's (results labelled so).")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None,
              help="Where fine-tuned weights go (default: next to the store).")
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
@json_option
def finetune(as_json: bool, **options) -> None:
    """Fine-tune the final front's most accurate candidates (paper settings) and record
    before/after full-validation errors in the store. Re-run to resume."""
    from pathlib import Path

    from ..training.config import FinetuneConfig
    from ..training.finetune import finetune as run_finetune

    out_dir = options["out_dir"] or Path(options["store"]).with_suffix("")
    writable_dir(Path(out_dir) / "finetune", "--out-dir")  # before the supernet is built and trained

    rows = run_finetune(FinetuneConfig(**options), log=lambda m: click.echo(m, err=as_json))
    if as_json:
        echo_json({"store": options["store"], "candidates": [r.to_columns() for r in rows]})
        return
    for r in rows:
        click.echo(f"{r.genome}  subset {r.error_subset_before:.4f}  full {r.error_full_before:.4f} "
                   f"-> {r.error_full_after:.4f}  ({r.epochs} epochs)")
