"""``fmas-hw demo``: the end-to-end demo on synthetic data (what ``make demo`` runs)."""

from __future__ import annotations

import click

from ..demo import DemoConfig
from .options import echo_json, json_option

_DEFAULT = DemoConfig()


@click.command()
@click.option("--out", default="demo-out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for the data, the store and the report.")
@click.option("--population", type=click.IntRange(min=4), default=_DEFAULT.population, show_default=True)
@click.option("--generations", type=click.IntRange(min=1), default=_DEFAULT.generations, show_default=True)
@click.option("--finetune-top", type=click.IntRange(min=1), default=_DEFAULT.finetune_top, show_default=True)
@click.option("--finetune-epochs", type=click.IntRange(min=1), default=_DEFAULT.finetune_epochs, show_default=True)
@click.option("--study-candidates", type=click.IntRange(min=2), default=_DEFAULT.study_candidates, show_default=True,
              help="Random candidates of the proxy study (besides the supernet).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@json_option
def demo(as_json: bool, **options) -> None:
    """Synthetic data -> shipped supernet -> search (estimate target) -> proxy study -> fine-tune -> report."""
    from ..demo import run_demo
    from ..targets.figures import cycles_text

    out = run_demo(DemoConfig(**options), log=lambda m: click.echo(m, err=as_json))
    if as_json:
        echo_json(out)
        return
    click.echo("\nfinal front (cycles are ESTIMATES of the GAP8 cycle model, not measurements):")
    click.echo(f"{'genome':<30} {'error':>7} {'GAP8 latency':>26} {'MFLOPs':>8} {'params':>9}")
    for f in sorted(out["front"], key=lambda f: f["error"]):
        latency = cycles_text(f["cycles"], f["cycles_source"], f.get("fits_gap8"))
        click.echo(f"{f['genome']:<30} {f['error']:7.4f} {latency:>26} {f['flops'] / 1e6:8.1f} {f['params']:9,}")
    study = out.get("study")
    if study:
        tau = "undefined" if study["kendall_tau"] is None else f"{study['kendall_tau']:.3f}"
        click.echo(f"\nproxy study ({study['candidates']} candidates, {study['images']} validation images): Kendall "
                   f"tau {tau} between the first {100 * study['fraction']:.0f} % and the full set, "
                   f"|gap| <= {study['max_abs_gap_points']:.2f} points")
    click.echo(f"\nstore:  {out['store']}\nreport: {out['report']['out_dir']}")
    click.echo(f"demo finished in {out['seconds'] / 60:.1f} min")
