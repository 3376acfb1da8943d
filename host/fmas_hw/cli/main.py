"""The ``fmas-hw`` command line: a thin click group over one module per command.

A command's module is imported when the command runs (:func:`load_command`), so that
``fmas-hw --help`` answers without importing TensorFlow, pymoo or matplotlib.
User-facing errors (:class:`~fmas_hw.errors.FmasError`) are printed without a traceback, and so
is an ``OSError`` (an output that could not be written, e.g. on a full disk: :mod:`.outputs`).
"""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..errors import FmasError

#: command name -> one-line help shown by ``fmas-hw --help``, in the order shown.
COMMANDS: dict[str, str] = {
    "arch": "Decode a genome: genes, parameters and FLOPs of a candidate.",
    "data": "Data sets: write a synthetic VOC-format set (synth), validate one (check).",
    "train": "Train a supernet on VOC-format data.",
    "eval": "mIoU error of a candidate on the validation subset.",
    "search": "NSGA-II search over a supernet's sub-networks.",
    "export": "Export a candidate as a GAP8 project (TFLite, ONNX, C code).",
    "measure": "Cycles of one candidate on a target (estimate/gvsoc/board).",
    "emulate": "Run an exported project's network on this computer (x86, no cycles).",
    "flash": "Build and write a GAP8 project to the board's flash.",
    "calibrate": "Refit the cycle model from real per-layer measurements.",
    "regress": "Check reference models' cycles against a committed baseline.",
    "finetune": "Fine-tune the final Pareto candidates of a search.",
    "report": "Tables and plots of a search store.",
    "dashboard": "Watch a search live in optuna-dashboard, with its report beside it.",
    "optuna-export": "Write a search store as an Optuna study file (no server).",
    "study": "Studies of the method: the validation subset as a proxy (study proxy).",
    "demo": "The end-to-end demo on synthetic data (what `make demo` runs).",
}


def load_command(name: str) -> click.Command:
    """The click command ``name`` (its module imported now).

    Raises:
        KeyError: no such command.
    """
    match name:
        case "arch":
            from .arch import arch as command
        case "data":
            from .data import data as command
        case "train":
            from .train import train as command
        case "eval":
            from .evaluate import evaluate as command
        case "search":
            from .search import search as command
        case "export":
            from .export import export as command
        case "measure":
            from .measure import measure as command
        case "flash":
            from .flash import flash as command
        case "emulate":
            from .emulate import emulate as command
        case "calibrate":
            from .calibrate import calibrate as command
        case "regress":
            from .regress import regress as command
        case "finetune":
            from .finetune import finetune as command
        case "report":
            from .report import report as command
        case "dashboard":
            from .dashboard import dashboard as command
        case "optuna-export":
            from .optuna_export import optuna_export as command
        case "study":
            from .study import study as command
        case "demo":
            from .demo import demo as command
        case _:
            raise KeyError(name)
    return command


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return load_command(cmd_name) if cmd_name in COMMANDS else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl(list(COMMANDS.items()))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fmas-hw")
def cli() -> None:
    """fmas-hw: fast multi-objective supernet architecture search for the GAP8 MCU.

    Searches sub-networks of a DeepLabV3+ supernet (Xception or MobileNetV2) with NSGA-II,
    scoring each candidate without fine-tuning against FLOPs, parameters or GAP8 cycles.
    """


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``fmas-hw`` console script; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        cli.main(args=argv, prog_name="fmas-hw", standalone_mode=False)
    except FmasError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:  # an output that failed after its check (a full disk): no traceback
        from .outputs import os_error_message

        click.echo(f"error: {os_error_message(exc)}", err=True)
        return FmasError.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
