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
    checked = CliRunner(mix_stderr=False).invoke(cli, ["data", "check", "--data", str(tmp_path), "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["images"] == {"train": 2, "val": 1}  # the classes' source: on stderr


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


def test_check_takes_the_class_count_from_the_sets_synth_json_and_says_so(tmp_path: Path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path), "--train", "3", "--val", "2", "--size", "32",
                 "--classes", "8", "--seed", "2"]) == 0
    capsys.readouterr()
    description = tmp_path / "VOC2012" / "synth.json"
    assert main(["data", "check", "--data", str(tmp_path), "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["classes"] == 8 and f"classes: 8 (from the data set's {description})" in err
    # The labels are checked against that count: a description of fewer classes fails them.
    description.write_text(json.dumps({**json.loads(description.read_text()), "num_classes": 3}))
    assert main(["data", "check", "--data", str(tmp_path)]) != 0
    assert "error: mask" in capsys.readouterr().err


def test_check_class_count_precedence(tmp_path: Path, capsys):
    assert main(["data", "synth", "--out", str(tmp_path / "d"), "--train", "2", "--val", "1", "--size", "32",
                 "--classes", "4"]) == 0
    weights = tmp_path / "w.h5"
    weights.write_bytes(b"")
    (tmp_path / "w.json").write_text(json.dumps({"backbone": "mobilenetv2", "classes": 6}))
    capsys.readouterr()
    assert main(["data", "check", "--data", str(tmp_path / "d"), "--weights", str(weights)]) == 0
    assert f"classes: 6 (from the manifest {tmp_path / 'w.json'})" in capsys.readouterr().err
    assert main(["data", "check", "--data", str(tmp_path / "d"), "--weights", str(weights), "--classes", "5"]) == 0
    assert "classes: 5 (as given)" in capsys.readouterr().err
    (tmp_path / "d" / "VOC2012" / "synth.json").unlink()
    assert main(["data", "check", "--data", str(tmp_path / "d")]) == 0
    assert "classes: 21 (default: PASCAL VOC's" in capsys.readouterr().err
