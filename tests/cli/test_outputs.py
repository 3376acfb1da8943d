"""Outputs that cannot be written: one ``error:`` line, said before the slow work, never a traceback.

A folder under a regular file cannot be created, even by root (tests run as root, where a
chmod'ed folder would still be writable); a full disk is simulated by a write raising ENOSPC.
"""

from __future__ import annotations

import errno
import json

import pytest

from fmas_hw.cli.main import main
from fmas_hw.space import MobileNetV2Space

MB = MobileNetV2Space()


@pytest.fixture
def blocker(tmp_path):
    """A regular file: any path under it cannot be created."""
    path = tmp_path / "somefile"
    path.write_text("in the way")
    return path


def _never(what: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{what} started before the output was checked")
    return fail


def _refused(capsys, argv: list[str], option: str, where) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"error: cannot write {option} {where}" in err and "Traceback" not in err


def test_export_checks_its_out_before_building(blocker, capsys, monkeypatch):
    monkeypatch.setattr("fmas_hw.model.supernet.Supernet.build", _never("the supernet build"))
    _refused(capsys, ["export", "--classes", "3", "--alpha", "0.35", "--input-size", "64", "--out",
                      str(blocker / "p")], "--out", blocker / "p")


def test_export_on_a_full_disk_is_an_error_line(tmp_path, capsys, monkeypatch):
    from fmas_hw.gap8 import project_writer as project_module

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(project_module, "_export_models", lambda *a, **k: {})
    monkeypatch.setattr(project_module, "_write_json", full)
    assert main(["export", "--classes", "3", "--alpha", "0.35", "--input-size", "64", "--calibration-images", "1",
                 "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "\nerror: cannot write or read" in err and "expected.json: No space left on device" in err
    assert "free some space" in err and "Traceback" not in err


def test_study_proxy_checks_its_out_before_the_forward_pass(blocker, capsys, monkeypatch, synth_voc,
                                                           tiny_mnv2_weights):
    monkeypatch.setattr("fmas_hw.search.proxy_study.run_study", _never("the proxy study"))
    _refused(capsys, ["study", "proxy", "--data", str(synth_voc), "--weights", str(tiny_mnv2_weights),
                      "--out", str(blocker / "study")], "--out", blocker / "study")


def test_measure_checks_its_work_dir_before_generating_a_project(blocker, capsys):
    _refused(capsys, ["measure", "--target", "simulated", "--classes", "3", "--alpha", "0.35",
                      "--work-dir", str(blocker / "w")], "--work-dir", blocker / "w")


def test_calibrate_checks_its_out_before_fitting(blocker, tmp_path, capsys, monkeypatch):
    records = tmp_path / "m.jsonl"
    records.write_text(json.dumps({"name": "a", "op": "conv", "macs": 1000, "bytes": 10, "cycles": 50}) + "\n")
    monkeypatch.setattr("fmas_hw.costmodel.calibrate.calibrate", _never("the fit"))
    _refused(capsys, ["calibrate", "--measurements", str(records), "--out", str(blocker / "m.toml")],
             "--out", f"{blocker / 'm.toml'}: its folder {blocker}")


def test_train_checks_its_out_before_training(blocker, capsys, monkeypatch, synth_voc):
    monkeypatch.setattr("fmas_hw.training.supernet.train", _never("the training"))
    _refused(capsys, ["train", "--data", str(synth_voc), "--out", str(blocker / "w.h5")],
             "--out", f"{blocker / 'w.h5'}: its folder {blocker}")


def test_finetune_checks_its_out_dir_before_fine_tuning(blocker, tmp_path, capsys, monkeypatch):
    from tests.conftest import finished_store, random_genomes

    store = finished_store(tmp_path / "s.sqlite", random_genomes(MB, 2, seed=5))
    monkeypatch.setattr("fmas_hw.training.finetune.finetune", _never("the fine-tuning"))
    _refused(capsys, ["finetune", "--store", str(store), "--out-dir", str(blocker / "ft")],
             "--out-dir", blocker / "ft" / "finetune")
