"""``fmas-hw calibrate``: refit the GAP8 cycle model from real per-layer measurements.

Reads per-layer records from GVSoC or board runs — a JSON lines or JSON file (see
:mod:`fmas_hw.costmodel.calibrate`), or measured projects whose run logs are joined with the model's
features (:mod:`fmas_hw.targets.project_records`) — refits the constants (or only the global scale) by least
squares and writes a cycle-model TOML that the estimate target uses with ``--cycle-model FILE``
or ``FMAS_CYCLE_MODEL=FILE``.

A degenerate fit (under-determined, a constant at its guard, or worse than the starting model:
:func:`fmas_hw.costmodel.calibrate.fit_problems`) is not written unless ``--force``. A model fitted
on the ``simulated`` target's run logs says in its name and notes that it was not fitted on
hardware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from .outputs import writable_file


@click.command()
@click.option("--measurements", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Per-layer measurements: JSON lines of {name, op, macs, bytes, cycles, ...}.")
@click.option("--project", "projects", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A project measured on GVSoC or a board (its newest run log is read); repeatable.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("gap8_cycle_model.toml"),
              show_default=True, help="Cycle-model TOML to write.")
@click.option("--cycle-model", type=click.Path(exists=True, dir_okay=False), envvar="FMAS_CYCLE_MODEL",
              default=None, help="Model to start from (default: the packaged one).")
@click.option("--scale-only", is_flag=True, help="Refit only the global scale (few measurements).")
@click.option("--force", is_flag=True,
              help="Write the model even when the fit is under-determined or worse than the starting model.")
def calibrate(measurements: Path | None, projects: tuple[Path, ...], out: Path, cycle_model: str | None,
              scale_only: bool, force: bool) -> None:
    """Refit the cycle model from --measurements or measured --project folders; write it to --out."""
    from dataclasses import replace

    from ..costmodel import calibrate as cal
    from ..costmodel.cycle_model import load_cycle_model, write_cycle_model
    from ..errors import ConfigError

    if (measurements is None) == (not projects):
        raise click.UsageError("give either --measurements FILE or one or more --project DIR")
    writable_file(out, "--out")
    start = load_cycle_model(cycle_model)
    records, origin, simulated = _records(measurements, projects)
    result = cal.calibrate(records, start, scale_only=scale_only)
    lines = cal.report(result)
    click.echo("\n".join(lines))
    problems = cal.fit_problems(result)
    if problems and not force:
        raise ConfigError(f"{out} not written: the fit is not trustworthy ({'; '.join(problems)}); "
                          "give --force to write it anyway")
    notes = [f"GAP8 cycle model refitted by `fmas-hw calibrate` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"from {origin} ({result.records} layers), starting from {start.source}.", *lines]
    model = result.model
    if simulated:
        model = replace(model, name=f"{model.name}+simulated")
        notes.insert(0, "NOT FITTED ON HARDWARE: every record came from the `simulated` target (a test stand-in)")
    notes += [f"written with --force despite: {p}" for p in problems]
    write_cycle_model(model, out, notes)
    for problem in problems:
        click.echo(f"warning: --force: {problem}", err=True)
    if simulated:
        click.echo("warning: fitted on the `simulated` target's run logs, not on hardware (the model's name "
                   "says +simulated)", err=True)
    click.echo(f"wrote {out}: use it with --cycle-model {out} or FMAS_CYCLE_MODEL={out}")


def _records(measurements: Path | None, projects: tuple[Path, ...]):
    """(records, where they came from, whether every one came from a target that is not hardware)."""
    from ..costmodel import calibrate as cal
    from ..targets.project_records import (
        NOT_HARDWARE,
        latest_run_log,
        project_records,
        run_log_target,
    )

    if measurements is not None:
        return cal.load_records(measurements), str(measurements), False
    records = [r for project in projects for r in project_records(project)]
    simulated = all(run_log_target(latest_run_log(p)) in NOT_HARDWARE for p in projects)
    return records, "the run logs of " + ", ".join(str(p) for p in projects), simulated
