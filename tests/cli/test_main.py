"""The CLI shell: the command list, help, and the options every command shares (--genome)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main


def test_help_lists_commands_without_importing_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from fmas_hw.cli.main import main; rc = main(['--help']); "
            "assert 'tensorflow' not in sys.modules, 'help imported TF'; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "arch" in out and "Commands" in out


@pytest.mark.parametrize("args", [["arch", "--json"], ["measure", "--json"], ["regress"],
                                  ["calibrate", "--help"]], ids=lambda a: a[0])
def test_commands_that_need_no_network_do_not_import_tensorflow(args):
    """They answer from the architecture alone (bench/startup.py: about 10x faster to start)."""
    import subprocess
    import sys

    code = (f"import sys; from fmas_hw.cli.main import main; rc = main({args!r}); "
            "assert 'tensorflow' not in sys.modules, 'imported TensorFlow'; sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip(), "the command printed nothing"


def test_invalid_genome_is_an_error_without_traceback(capsys):
    rc = main(["arch", "--backbone", "xception", "--genome", "0101"])
    err = capsys.readouterr().err
    assert rc == 2  # click's usage error
    assert "Invalid value for '--genome'" in err and "expected 22" in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["arch", "measure", "export", "eval"])
def test_every_genome_option_reads_the_backbone_given_after_it(command, capsys):
    xception_supernet = "0100001111111111111111"
    rc = main([command, "--genome", xception_supernet, "--backbone", "mobilenetv2", "--help"])
    assert rc == 0  # --help wins; the genome is not parsed yet
    rc = main([command, "--genome", xception_supernet, "--backbone", "mobilenetv2"])
    assert rc == 2 and "expected 28" in capsys.readouterr().err


def test_every_command_has_help():
    from fmas_hw.cli.main import COMMANDS, load_command

    for name in COMMANDS:
        assert load_command(name).name == name or name == "eval"
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage" in result.output


