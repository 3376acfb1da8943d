"""``fmas-hw finetune``: out-of-range settings are refused at the boundary, in click's words."""

from __future__ import annotations

import pytest

from fmas_hw.cli.main import main


@pytest.fixture
def store_file(tmp_path):
    """A file where the store goes (the options are checked before it is read)."""
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(("option", "value", "range_text"), [
    ("--lr", "0", "x>0"), ("--lr", "-1e-6", "x>0"),
    ("--lr-decay", "0", "0<x<=1"), ("--lr-decay", "1.5", "0<x<=1"),
    ("--weight-decay", "-4e-5", "x>=0"),
], ids=lambda v: str(v))
def test_out_of_range_settings_get_clicks_error(capsys, store_file, option, value, range_text):
    code = main(["finetune", "--store", str(store_file), option, value])
    err = capsys.readouterr().err
    assert code == 2
    assert f"Invalid value for '{option}'" in err and range_text in err and "Traceback" not in err


def test_nan_passes_click_and_is_refused_by_the_config(capsys, store_file):
    code = main(["finetune", "--store", str(store_file), "--lr", "nan"])
    err = capsys.readouterr().err
    assert code == 2 and "error: learning_rate must be a number > 0, got nan" in err


def test_boundary_settings_are_accepted(capsys, store_file):
    """lr-decay 1 and weight decay 0 pass both checks: the run then stops at the (empty) store."""
    code = main(["finetune", "--store", str(store_file), "--lr-decay", "1", "--weight-decay", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "Invalid value" not in err and "not an fmas-hw search store" in err
