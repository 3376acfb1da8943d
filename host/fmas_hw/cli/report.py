"""``fmas-hw report``: tables and plots of a search store (SPEC §7).

A thin command over :func:`fmas_hw.report.write_report`: it validates the options, writes the
report folder and prints where every file is (or, with ``--json``, one object with the paths and
the summary numbers). The report only reads the store; ``--full-set`` first scores the final
front on the full validation set (:func:`fmas_hw.search.full_set.score_front_full_set`, which
writes the store's ``full_set`` table), then reports. Store problems surface as
:class:`~fmas_hw.errors.StoreError`, which the CLI shell prints as ``error: ...`` without a
traceback.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ConfigError
from ..report import FORMATS, ReportFiles, default_out_dir, parse_formats, write_report
from .options import echo_json, json_option


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    try:
        return parse_formats(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("report")
@click.option("--store", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Results store written by `fmas-hw search` (read only without --full-set).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Report folder  [default: <store stem>-report/ next to the store]")
@click.option("--format", "formats", default="md,csv", show_default=True, callback=_formats,
              metavar="LIST", help=f"Comma-separated table formats: {', '.join(FORMATS)} (plots are always "
                                   "written as PNG and SVG).")
@click.option("--study", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Include a `fmas-hw study proxy` folder (its curve, rank agreement and optimism).")
@click.option("--full-set", is_flag=True, default=False,
              help="First score the supernet and every final-front member not scored yet on the full "
                   "validation set, without fine-tuning (one forward pass each; needs the search's "
                   "weights and data; writes the store's full_set table).")
@json_option
def report(store: Path, out_dir: Path | None, formats: tuple[str, ...], study: Path | None, full_set: bool,
           as_json: bool) -> None:
    """Tables (Markdown/CSV/HTML) and plots (PNG/SVG) of a search store.

    Candidates (supernet first, then the final Pareto front and the fine-tuned ones) with their
    genes, device time to discovery, FLOPs, parameters, GAP8 cycles and errors; the Pareto front
    over generations; hypervolume; proxy fidelity after `fmas-hw finetune` (and over the whole
    final front with --full-set); search cost.
    """
    if full_set:
        from ..search.full_set import score_front_full_set  # TensorFlow and pymoo: only when asked

        score_front_full_set(store, log=lambda m: click.echo(m, err=as_json))
    files = write_report(store, out_dir or default_out_dir(store), formats, study=study)
    if as_json:
        echo_json(files.to_dict())
    else:
        print_files(files)


def print_files(files: ReportFiles) -> None:
    """Where the files are, and the headline numbers."""
    summary = files.summary
    click.echo(f"report: {files.out_dir}")
    for path in files.paths():
        click.echo(f"  {path}")
    hv = summary["hypervolume"][-1] if summary["hypervolume"] else float("nan")
    click.echo(f"{summary['generations']} generation(s), final front of {summary['front_size']}, "
               f"hypervolume {hv:.4f}, {summary['accounting']['evaluations']} evaluated")
    fid = summary["fidelity"]
    if fid is not None:
        tau = "undefined" if fid["kendall_tau"] is None else f"{fid['kendall_tau']:.3f}"
        click.echo(f"proxy fidelity over {fid['n']} fine-tuned: Kendall tau {tau}, "
                   f"delta {fid['delta_min']:+.2f} … {fid['delta_max']:+.2f} points")
    front = summary["front_fidelity"]
    if front is not None:
        tau = "undefined" if front["kendall_tau"] is None else f"{front['kendall_tau']:.3f}"
        click.echo(f"subset vs full set over {front['n']} of {front['front_size']} front members: max |gap| "
                   f"{front['max_abs_gap_points']:.2f} points, mean gap {front['mean_gap_points']:+.2f}, "
                   f"Kendall tau {tau}")
