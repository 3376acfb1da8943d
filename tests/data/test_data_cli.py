"""``fmas-hw data``: synth and check through click, errors through the console entry point."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fmas_hw.cli.main import cli, main


def test_synth_json(tmp_path: Path):
    out = tmp_path / "ds"
    result = CliRunner().invoke(cli, ["data", "synth", "--out", str(out), "--train", "4",
                                      "--val", "2", "--size", "48", "--classes", "4", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["root"] == str(out / "VOC2012")
    assert {k: report[k] for k in ("train", "val", "size", "classes", "seed")} == {
        "train": 4, "val": 2, "size": 48, "classes": 4, "seed": 0}
    assert len(list((out / "VOC2012" / "JPEGImages").glob("*.jpg"))) == 6


def test_synth_prints_the_path_then_check_accepts_it(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "synth", "--out", str(tmp_path), "--train", "2",
                                 "--val", "1", "--size", "32"])
    assert result.exit_code == 0 and result.output.strip() == str(tmp_path / "VOC2012")
    checked = runner.invoke(cli, ["data", "check", "--data", str(tmp_path), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.output)["images"] == {"train": 2, "val": 1}


def test_synth_rejects_out_of_range_options(tmp_path: Path):
    result = CliRunner().invoke(cli, ["data", "synth", "--out", str(tmp_path), "--classes", "30"])
    assert result.exit_code == 2 and "--classes" in result.output


def test_check_error_is_one_line_without_traceback(tmp_path: Path, capsys):
    code = main(["data", "check", "--data", str(tmp_path / "missing")])
    captured = capsys.readouterr()
    assert code != 0
    assert captured.err.startswith("error: ") and "missing" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_check_names_a_bad_mask(tmp_path: Path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path), "--train", "2", "--val", "1",
                 "--size", "32", "--classes", "5"]) == 0
    code = main(["data", "check", "--data", str(tmp_path), "--classes", "2"])
    captured = capsys.readouterr()
    assert code != 0 and "error: mask" in captured.err and "Traceback" not in captured.err


def test_synth_refuses_a_folder_that_is_not_empty_unless_forced(tmp_path: Path, capsys):
    small = ["--train", "2", "--val", "1", "--size", "32"]
    assert main(["data", "synth", "--out", str(tmp_path), *small, "--seed", "1"]) == 0
    root = tmp_path / "VOC2012"
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    capsys.readouterr()
    assert main(["data", "synth", "--out", str(tmp_path), "--train", "3", "--val", "2", "--size", "32"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --out {tmp_path} is not empty") and "--force" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # nothing rewritten
    assert main(["data", "synth", "--out", str(tmp_path), "--train", "3", "--val", "2", "--size", "32",
                 "--force"]) == 0
    assert (root / "ImageSets/Segmentation/val.txt").read_text().split() == ["val_00000", "val_00001"]


def test_synth_refuses_a_folder_holding_anything(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["data", "synth", "--out", str(tmp_path), "--train", "1", "--val", "1", "--size", "16"]) == 2
    assert "holds notes.txt" in capsys.readouterr().err and not (tmp_path / "VOC2012").exists()
