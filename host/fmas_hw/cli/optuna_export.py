"""``fmas-hw optuna-export``: a search store as an Optuna study file, without a server.

The same mirror as ``fmas-hw dashboard`` keeps (:func:`fmas_hw.dashboard.export`), written
once: run again, it adds what the store committed since. Load it with
``optuna.load_study(study_name=..., storage="sqlite:///<file>")`` and use ``optuna.visualization``.
"""

from __future__ import annotations

from pathlib import Path

import click

from .options import echo_json, json_option


@click.command("optuna-export")
@click.option("--store", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Results store of `fmas-hw search` (only read).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Optuna study file  [default: <store stem>-optuna.db next to the store]")
@json_option
def optuna_export(store: Path, out: Path | None, as_json: bool) -> None:
    """Write a search store as an Optuna study (SQLite RDB storage), one trial per evaluation.

    The study file `fmas-hw dashboard` serves: genes as categorical parameters, error and costs
    as minimised values, genome, generation, figures and their source as user attributes.
    """
    import optuna

    from ..dashboard import export

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    done = export(store, out)
    if as_json:
        echo_json(done.to_dict())
        return
    s = done.states
    click.echo(f"study: {done.path} ({done.study_name}): {done.synced.trials} trial(s), {done.synced.added} new; "
               f"{s['complete']} complete ({s['infeasible']} over a budget), {s['failed']} failed, "
               f"{s['pruned']} pruned; Pareto front of {done.front}")
    click.echo(f"  optuna.load_study(study_name={done.study_name!r}, storage={done.to_dict()['storage']!r})")
