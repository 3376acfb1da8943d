"""``fmas-hw study proxy``: how faithful the validation subset is as a proxy (FMAS §3.2)."""

from __future__ import annotations

import click

from ..report.writer import parse_formats
from .options import (
    alpha_option,
    backbone_option,
    classes_option,
    echo_json,
    echo_settings,
    input_size_option,
    json_option,
    network_options,
    weights_option,
)
from .outputs import writable_dir


@click.group()
def study() -> None:
    """Studies of the method itself."""


@study.command("proxy")
@backbone_option
@click.option("--data", type=click.Path(exists=True, file_okay=False), default=None,
              help="VOC-format data set (default with --store: the search's).")
@weights_option
@input_size_option
@classes_option
@alpha_option
@click.option("--store", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Study candidates this search evaluated, with its data, weights and input size.")
@click.option("--candidates", type=click.IntRange(min=2), default=50, show_default=True,
              help="Candidates besides the supernet (random ones, or drawn from --store).")
@click.option("--flips", type=click.IntRange(min=0), default=4, show_default=True,
              help="Random candidates differ from the supernet in 1..N genome bits (the region a search "
                   "explores); 0: uniformly random genomes, most of which a supernet trained as a whole "
                   "turns into constant predictors.")
@click.option("--fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2,
              show_default=True, help="The search's subset: the fraction the headline numbers are for.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="mIoU points of mean deviation under which the curve counts as stable.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Forward-pass batch  [default: 32 for inputs up to 64 px, 8 from 96 px]")
@click.option("--out", default="proxy-study", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the tables, plots, study.json and the counts cache (a rerun resumes).")
@click.option("--format", "formats", default="md,csv", show_default=True, metavar="LIST",
              help="Table formats: md, csv, html.")
@json_option
def proxy(backbone: str, data: str | None, weights: str | None, input_size: int | None, classes: int | None,
          alpha: float | None, store: str | None, formats: str, as_json: bool, **options) -> None:
    """Error vs fraction of val.txt, Kendall τ / Spearman ρ of subset vs full-set error, and the
    optimism of picking the subset-best of K, from one pass per candidate over the validation set.
    """
    from ..search.proxy_study import StudySettings, run_study

    if store:
        backbone, data, weights, input_size, classes, alpha = _from_store(store, data, weights, input_size,
                                                                          classes, alpha)
    if not data or not weights:
        raise click.UsageError("a proxy study needs --data and --weights (or --store of a search that "
                               "recorded both); random weights would make every error about 1.0")
    writable_dir(options["out"], "--out")  # before the forward passes over the whole validation set
    net = network_options(backbone, weights, classes, alpha, input_size)
    echo_settings(net)
    settings = StudySettings(backbone, weights, data, net.input_size, net.classes, net.alpha, store=store,
                             formats=_formats(formats), **options)
    summary = run_study(settings, log=lambda m: click.echo(m, err=True))
    if as_json:
        echo_json(summary)
        return
    tau = "undefined" if summary["kendall_tau"] is None else f"{summary['kendall_tau']:.3f}"
    click.echo(f"{summary['candidates']} candidates on {summary['images']} images: Kendall tau {tau} between the "
               f"first {100 * summary['fraction']:.0f} % and the full set, |gap| <= "
               f"{summary['max_abs_gap_points']:.2f} points, stable from {100 * summary['stable_at']:.0f} %")
    click.echo(f"study: {settings.out}")


def _formats(value: str) -> tuple[str, ...]:
    from ..errors import ConfigError

    try:
        return parse_formats(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="'--format'") from None


def _from_store(store: str, data, weights, input_size, classes, alpha):
    """The store's search settings, each overridden by what was given."""
    from ..search.stored_config import stored_config

    cfg = stored_config(store)
    return (cfg.backbone, data or cfg.data, weights or cfg.weights, input_size or cfg.input_size,
            classes or cfg.classes, alpha or cfg.alpha)
