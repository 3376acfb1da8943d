"""``fmas-hw regress``: pass, forced regression, faster, update, and the committed references."""

from __future__ import annotations

import json

import pytest

from fmas_hw.cli.main import main
from fmas_hw.errors import ConfigError
from fmas_hw.space import MobileNetV2Space
from fmas_hw.targets.regress import (
    baseline_path,
    compare,
    load_baseline,
    load_references,
    missing_baseline_advice,
    percent_text,
    references_dir,
    verdict,
)

MB = MobileNetV2Space()
TINY_REFS = {
    "tiny-supernet": MB.supernet_genome,
    "tiny-smallest": "1111110111100101001000100100",
}


@pytest.fixture
def models(tmp_path):
    """A folder of tiny reference models (alpha 0.35, 96x96, 5 classes)."""
    folder = tmp_path / "reference"
    folder.mkdir()
    for name, genome in TINY_REFS.items():
        (folder / f"{name}.json").write_text(json.dumps({
            "name": name, "backbone": "mobilenetv2", "genome": genome, "classes": 5, "alpha": 0.35,
            "input_size": 96, "note": "test"}))
    return folder


def _regress(models, baseline, *extra):
    return main(["regress", "--models", str(models), "--baseline", str(baseline), *extra])


def _scaled_baseline(src, dst, factor):
    data = json.loads(src.read_text())
    data["models"] = {k: int(v * factor) for k, v in data["models"].items()}
    dst.write_text(json.dumps(data))
    return dst


def test_update_then_pass(models, tmp_path, capsys):
    baseline = tmp_path / "estimate.json"
    assert _regress(models, baseline, "--update") == 0
    data = json.loads(baseline.read_text())
    assert set(data["models"]) == set(TINY_REFS) and data["target"] == "estimate"
    assert "cycle_model" in data["tool"] and not any("/" in v for v in data["tool"].values())
    capsys.readouterr()
    assert _regress(models, baseline) == 0
    out = capsys.readouterr().out
    assert "no regression (2 models)" in out
    assert all(word in out for word in ("model", "baseline", "now", "delta %", "verdict"))


def test_forced_regression_exits_1(models, tmp_path, capsys):
    good = tmp_path / "good.json"
    _regress(models, good, "--update")
    lowered = _scaled_baseline(good, tmp_path / "lowered.json", 0.9)  # now looks 11 % slower
    capsys.readouterr()
    assert _regress(models, lowered) == 1
    captured = capsys.readouterr()
    assert captured.out.count("REGRESSION") == 2 and "+11.1" in captured.out
    assert "--update" in captured.err


def test_faster_than_baseline_passes_and_asks_for_an_update(models, tmp_path, capsys):
    good = tmp_path / "good.json"
    _regress(models, good, "--update")
    raised = _scaled_baseline(good, tmp_path / "raised.json", 1.1)
    capsys.readouterr()
    assert _regress(models, raised, "--tolerance", "5") == 0
    assert "faster - update the baseline" in capsys.readouterr().out


def test_within_tolerance_is_ok():
    assert verdict(1000, 1019, 0.02) == "ok" and verdict(1000, 1021, 0.02) == "REGRESSION"
    assert verdict(1000, 979, 0.02) == "faster - update the baseline" and verdict(None, 5, 0.02) == "no baseline"
    (row,) = compare({"m": 1100}, {"models": {"m": 1000}}, 0.02)
    assert row.failed and row.delta == pytest.approx(0.1)


def test_missing_baseline_says_how_to_create_it(models, tmp_path, capsys):
    assert _regress(models, tmp_path / "absent.json") == 2
    assert f"fmas-hw regress --target estimate --update --baseline {tmp_path / 'absent.json'}" in capsys.readouterr().err


def test_a_reference_without_baseline_fails(models, tmp_path, capsys):
    good = tmp_path / "good.json"
    _regress(models, good, "--update")
    data = json.loads(good.read_text())
    del data["models"]["tiny-smallest"]
    good.write_text(json.dumps(data))
    capsys.readouterr()
    assert _regress(models, good) == 1
    assert "no baseline" in capsys.readouterr().out


def test_bad_reference_file_names_the_file(tmp_path):
    (tmp_path / "broken.json").write_text(json.dumps({"name": "x", "backbone": "mobilenetv2"}))
    with pytest.raises(ConfigError, match=r"broken.json lacks genome, classes, alpha, note"):
        load_references(tmp_path)
    with pytest.raises(ConfigError, match="no reference models"):
        load_references(tmp_path / "empty")


def test_committed_references_have_canonical_genomes_and_a_baseline():
    refs = load_references(references_dir())
    names = {r.name for r in refs}
    assert {"mbv2-supernet", "mbv2-smallest", "mbv2-middle"} <= names
    for ref in refs:
        assert MB.canonical_genome(ref.genome) == ref.genome, ref.name
        assert ref.note
    baseline = load_baseline(baseline_path("estimate"))
    assert set(baseline["models"]) == names
    assert abs(baseline["models"]["mbv2-supernet"] / 2189e6 - 1) < 0.05


@pytest.mark.parametrize(("delta", "tolerance", "text"), [
    (0.111, 0.02, "+11.10"), (0.0, 0.0, "+0.00"), (5e-6, 0.0, "+0.0005"),
    (0.0200004, 0.02, "+2.00004"), (-0.0199996, 0.02, "-2.00"), (1e-14, 0.0, "+1.00e-12"),
], ids=["plain", "none", "tiny", "just-over", "just-inside", "below-digits"])
def test_the_change_shows_enough_digits_for_its_verdict(delta, tolerance, text):
    assert percent_text(delta, tolerance) == text


def test_tolerance_0_prints_the_change_that_made_the_regression(models, tmp_path, capsys):
    good = tmp_path / "good.json"
    _regress(models, good, "--update")
    data = json.loads(good.read_text())
    data["models"] = {k: v - 1 for k, v in data["models"].items()}  # one cycle less: now is slower
    good.write_text(json.dumps(data))
    capsys.readouterr()
    assert _regress(models, good, "--tolerance", "0") == 1
    rows = [line for line in capsys.readouterr().out.splitlines() if "REGRESSION" in line]
    assert len(rows) == 2 and all("+0.00 " not in row and float(row.split()[3]) > 0 for row in rows)


def test_missing_baseline_advice_names_the_repository_folder_for_an_installed_package(tmp_path):
    installed = tmp_path / "lib" / "site-packages" / "fmas_hw" / "_models" / "baselines" / "gvsoc.json"
    advice = missing_baseline_advice(installed, "gvsoc")
    assert "installed package" in advice and "--baseline models/baselines/gvsoc.json" in advice
    checkout = tmp_path / "fmas-hw" / "models" / "baselines" / "gvsoc.json"
    assert missing_baseline_advice(checkout, "gvsoc") == (
        f"create it with `fmas-hw regress --target gvsoc --update --baseline {checkout}` and commit it")
