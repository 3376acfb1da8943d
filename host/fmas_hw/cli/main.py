"""The ``fmas-hw`` command line: a thin click group over one module per command.

Commands are imported lazily so that ``fmas-hw --help`` answers without importing TensorFlow.
User-facing errors (:class:`~fmas_hw.errors.FmasError`) are printed without a traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from .. import __version__
from ..errors import FmasError

#: command name -> ("module:attribute", one-line help shown by ``fmas-hw --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "arch": ("fmas_hw.cli.arch:arch", "Decode a genome: genes, parameters and FLOPs of a candidate."),
    "data": ("fmas_hw.cli.data:data", "Data sets: write a synthetic VOC-format set (synth), validate one (check)."),
    "train": ("fmas_hw.cli.train:train", "Train a supernet on VOC-format data."),
    "eval": ("fmas_hw.cli.evaluate:evaluate", "mIoU error of a candidate on the validation subset."),
    "search": ("fmas_hw.cli.search:search", "NSGA-II search over a supernet's sub-networks."),
    "export": ("fmas_hw.cli.export:export", "Export a candidate as a GAP8 project (TFLite, ONNX, C code)."),
    "measure": ("fmas_hw.cli.measure:measure", "Cycles of one candidate on a target (estimate/gvsoc/board)."),
    "flash": ("fmas_hw.cli.flash:flash", "Build and write a GAP8 project to the board's flash."),
    "calibrate": ("fmas_hw.cli.calibrate:calibrate", "Refit the cycle model from real per-layer measurements."),
    "regress": ("fmas_hw.cli.regress:regress", "Check reference models' cycles against a committed baseline."),
    "finetune": ("fmas_hw.cli.finetune:finetune", "Fine-tune the final Pareto candidates of a search."),
    "report": ("fmas_hw.cli.report:report", "Tables and plots of a search store."),
    "demo": ("fmas_hw.cli.demo:demo", "The end-to-end demo on synthetic data (what `make demo` runs)."),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _available(name: str) -> bool:
    module_name = COMMANDS[name][0].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


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
