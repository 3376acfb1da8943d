"""``fmas-hw regress``: the CI check of cycle counts of reference models against a baseline.

Prints a table (model, baseline, now, delta %, verdict) and exits 1 on any regression (slower
than the baseline by more than the tolerance) or a reference without a baseline; ``--update``
rewrites the baseline deliberately.
"""

from __future__ import annotations

from pathlib import Path

import click

from .options import cycle_model_option, target_option


@click.command()
@target_option
@click.option("--tolerance", type=click.FloatRange(min=0), default=2.0, show_default=True,
              help="Allowed change in percent before a model counts as slower (or faster).")
@click.option("--update", is_flag=True, help="Rewrite the baseline with the cycles measured now.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Baseline file (default: models/baselines/<target>.json).")
@click.option("--models", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Folder of reference architectures (default: models/reference).")
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("fmas-regress"),
              show_default=True, help="Where gvsoc/board projects of the references are generated.")
@cycle_model_option
def regress(target_name: str, tolerance: float, update: bool, baseline_file: Path | None,
            models: Path | None, work_dir: Path, cycle_model: str | None) -> None:
    """Compare the cycles of the reference models with the committed baseline."""
    from ..targets.options import TargetOptions
    from ..targets.registry import open_target
    from ..targets.regress import RegressionError, format_table, run_regress

    target = open_target(target_name, TargetOptions(cycle_model=cycle_model))
    result = run_regress(target, tolerance / 100.0, update, baseline_file, models, work_dir)
    click.echo(format_table(result.rows, tolerance / 100.0))
    if result.updated:
        click.echo(f"baseline written: {result.baseline_file} (commit it)")
        return
    if result.failed:
        bad = [r.name for r in result.rows if r.failed]
        raise RegressionError(f"{len(bad)} reference model(s) regressed or lack a baseline: {', '.join(bad)} "
                              f"(baseline {result.baseline_file}; if the change is intended, rerun with --update)")
    faster = [r.name for r in result.rows if r.verdict.startswith("faster")]
    click.echo(f"no regression ({len(result.rows)} models)" +
               (f"; faster than the baseline: {', '.join(faster)} - update the baseline" if faster else ""))
