"""``fmas-hw calibrate``: refit the GAP8 cycle model from real per-layer measurements.

Reads per-layer records from GVSoC or board runs (JSON lines or JSON, see
:mod:`fmas_hw.targets.calibrate`), refits the constants (or only the global scale) by least
squares and writes a cycle-model TOML that the estimate target uses with ``--cycle-model FILE``
or ``FMAS_CYCLE_MODEL=FILE``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click


@click.command()
@click.option("--measurements", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Per-layer measurements: JSON lines of {name, op, macs, bytes, cycles, ...}.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("gap8_cycle_model.toml"),
              show_default=True, help="Cycle-model TOML to write.")
@click.option("--cycle-model", type=click.Path(exists=True, dir_okay=False), envvar="FMAS_CYCLE_MODEL",
              default=None, help="Model to start from (default: the packaged one).")
@click.option("--scale-only", is_flag=True, help="Refit only the global scale (few measurements).")
def calibrate(measurements: Path, out: Path, cycle_model: str | None, scale_only: bool) -> None:
    """Refit the cycle model from MEASUREMENTS and write it to --out."""
    from ..targets import calibrate as cal
    from ..targets.cycle_model import load_cycle_model, write_cycle_model

    start = load_cycle_model(cycle_model)
    records = cal.load_records(measurements)
    result = cal.calibrate(records, start, scale_only=scale_only)
    lines = cal.report(result)
    notes = [f"GAP8 cycle model refitted by `fmas-hw calibrate` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
             f"from {measurements} ({result.records} layers), starting from {start.source}.", *lines]
    write_cycle_model(result.model, out, notes)
    click.echo("\n".join(lines))
    click.echo(f"wrote {out}: use it with --cycle-model {out} or FMAS_CYCLE_MODEL={out}")
