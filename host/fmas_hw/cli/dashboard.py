"""``fmas-hw dashboard``: watch a search in optuna-dashboard, live, with its report beside it.

A thin command over :func:`fmas_hw.dashboard.serve`: it mirrors the store into an Optuna study
file (read-only on the store), serves optuna-dashboard on it and keeps it up to date until
Ctrl-C. A store that cannot be read, a taken port or a study file that is not this store's
mirror are one-line errors (:class:`~fmas_hw.errors.FmasError`), printed by the CLI shell.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("dashboard")
@click.option("--store", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Results store of `fmas-hw search`: finished, running or resumed (only read).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on: loopback, this computer only (0.0.0.0: every network).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one, printed).")
@click.option("--study-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Optuna study file the store is mirrored into  [default: <store stem>-optuna.db next to "
                   "the store]")
def dashboard(store: Path, host: str, port: int, study_db: Path | None) -> None:
    """Serve optuna-dashboard on a live, read-only Optuna mirror of a search store.

    One trial per evaluated candidate (genes as parameters, error and costs as values, failed
    ones FAIL, rejected ones PRUNED); new evaluations appear as the search commits them. The
    search's report (front and hypervolume per generation) is served at /report/, linked from
    the study's note. Ctrl-C stops it.
    """
    import warnings

    import optuna

    from ..dashboard import serve

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # optuna-dashboard's importance view asks on every refresh; its warning about a parameter
    # value seen in fewer than 2 trials would be a line on the terminal each time.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"optuna\.importance")
    serve(store, host=host, port=port, study_path=study_db, echo=lambda m: click.echo(m, err=True))
