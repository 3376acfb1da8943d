"""``fmas-hw search``: NSGA-II over a supernet's sub-networks, resumable, local or on Dask.

Values come from, lowest precedence first: built-in defaults, the store being resumed, the
``--config`` TOML file, then the options given on the command line. Options therefore default to
"not given" here; the defaults live in :class:`fmas_hw.search.SearchConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..model.device import DEVICE_CHOICES
from ..search import SearchConfig, run, stored_config
from ..search.config import OBJECTIVES, load_toml
from ..search.progress import print_summary
from ..space import SPACES
from ..targets.registry import target_names
from .options import (
    DEVICE_HELP,
    TARGET_HELP,
    alpha_option,
    classes_option,
    echo_json,
    echo_settings,
    input_size_option,
    json_option,
    random_init_option,
    weights_option,
)


@click.command("search")
@click.option("--backbone", type=click.Choice(list(SPACES)), default=None,
              help="Supernet backbone / search space  [default: mobilenetv2]")
@click.option("--objective", "objectives", multiple=True, metavar="NAME",
              help=f"Cost objective(s) besides the error: {', '.join(OBJECTIVES)}; repeat the "
                   "option or give a comma list  [default: flops]")
@click.option("--target", type=click.Choice(target_names()), default=None,
              help=f"{TARGET_HELP}  [default: estimate]")
@click.option("--data", type=click.Path(exists=True, file_okay=False), default=None,
              help="VOC-format data set folder (its val.txt gives the validation subset).")
@weights_option
@random_init_option
@click.option("--population", type=click.IntRange(min=4), default=None, help="Population size M  [default: 12]")
@click.option("--generations", type=click.IntRange(min=1), default=None,
              help="Generations G (with --resume: extend a finished search)  [default: 20 xception, 25 mobilenetv2]")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Leading fraction of val.txt used to score candidates  [default: 0.2]")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Random seed  [default: 0]")
@click.option("--store", type=click.Path(dir_okay=False), default=None,
              help="Results store to create  [default: runs/search-<backbone>-<objectives>-s<seed>-<time>.sqlite]")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Local worker processes evaluating candidates in parallel  [default: one per GPU the "
                   "device runs on, else 1, in-process]")
@click.option("--device", type=click.Choice(DEVICE_CHOICES), default=None, help=f"{DEVICE_HELP}  [default: auto]")
@click.option("--threads-per-worker", type=click.IntRange(min=1), default=None,
              help="Threads each local worker's TensorFlow may use  [default: the cores shared out "
                   "between the workers; with one worker, TensorFlow's own choice]")
@click.option("--measure-workers", type=click.IntRange(min=1), default=None,
              help="Measurement workers of a target that runs projects (e.g. N GVSoC processes)  [default: 1]")
@click.option("--measure", type=click.Choice(["all", "front"]), default=None,
              help="Measure every candidate on the target, or estimate all and measure only those whose "
                   "measurement could change the front (and the final front)  [default: all]")
@click.option("--measure-margin", type=click.FloatRange(0, 2, max_open=True), default=None,
              help="Least log-error assumed of the estimate with --measure front (the largest error of the latest "
                   "measurements counts when larger)  [default: 0.01]")
@click.option("--port", "ports", multiple=True, metavar="PORT",
              help="A board's serial port, one measurement worker per port (repeat for several boards).")
@click.option("--scheduler", metavar="ADDRESS", envvar="FMAS_SCHEDULER", default=None,
              help="Dask distributed scheduler (e.g. tcp://10.0.0.5:8786) to evaluate on a cluster.")
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TOML file with any of these settings (command-line options win).")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Continue the search recorded in this store (nothing finished is redone).")
@click.option("--max-cycles", type=click.IntRange(min=1), default=None, help="Constraint: GAP8 cycles at most N.")
@click.option("--max-params", type=click.IntRange(min=1), default=None, help="Constraint: parameters at most N.")
@click.option("--fit-gap8/--no-fit-gap8", default=None, help="Constraint: the candidate fits GAP8 memory.")
@input_size_option
@classes_option
@alpha_option
@click.option("--overlap/--no-overlap", default=None,
              help="Run accuracy and GAP8 latency of a candidate concurrently  [default: overlap]")
@click.option("--evaluator", metavar="MODULE:CALLABLE", envvar="FMAS_EVALUATOR", default=None, hidden=True,
              help="Evaluator factory (advanced: plug in another evaluator).")
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr  [default: when a terminal]")
@json_option
def search(config_file: str | None, resume: str | None, progress: bool | None, as_json: bool,
           **options: Any) -> None:
    """Search sub-networks of a supernet with NSGA-II (error vs FLOPs / params / GAP8 cycles).

    Every evaluation lands in the store as it finishes; a killed search continues with
    --resume STORE, and a repeated candidate is never evaluated twice.
    """
    config = build_config(options, config_file, resume)
    echo_settings(config.network())
    if config.random_init:
        click.echo("warning: --random-init: the supernet is randomly initialised, every error will be "
                   "near 1.0; the store and its report say so", err=True)
    where: dict[str, Path] = {}

    def announce(path: Path) -> None:
        where["store"] = path
        click.echo(f"store: {path}", err=as_json)

    try:
        result = run(config, resume=resume, progress=progress, on_start=announce)
    except KeyboardInterrupt:
        if "store" in where:
            click.echo(f"interrupted: every finished evaluation is in the store; continue with "
                       f"`fmas-hw search --resume {where['store']}`", err=True)
        raise click.Abort() from None
    if as_json:
        echo_json(result.to_dict())
    else:
        print_summary(result, config.objectives)


def build_config(options: dict[str, Any], config_file: str | None, resume: str | None) -> SearchConfig:
    """Layer defaults, the resumed store's config, the TOML file and the given options.

    Raises:
        ConfigError / StoreError: invalid values, unknown file keys, unreadable store.
    """
    options = dict(options)
    options["objectives"] = list(options["objectives"]) or None
    options["ports"] = list(options["ports"]) or None
    options["random_init"] = options["random_init"] or None  # absent: keep the file's / store's
    base = stored_config(resume) if resume else SearchConfig()
    if config_file:
        base = base.merge(load_toml(config_file))
    return base.merge(options)
