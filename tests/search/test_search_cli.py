"""``fmas-hw search`` on the command line: JSON output, config-file precedence, resume, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main
from fmas_hw.model.device import current_device
from fmas_hw.store import Store

from .fakes import FAKE

SMALL = ["--population", "6", "--generations", "2", "--evaluator", FAKE]


def _invoke(*args: str):
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, ["search", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result


def test_json_output(tmp_path):
    store = tmp_path / "s.sqlite"
    result = _invoke(*SMALL, "--store", str(store), "--objective", "flops", "--objective", "params", "--json")
    out = json.loads(result.stdout)
    assert out["store"] == str(store) and f"store: {store}" in result.stderr
    assert out["evaluations"] == 12 and out["store_hits"] == 0 and out["failures"] == 0
    assert out["front"] and {"genome", "error", "flops", "params"} <= set(out["front"][0])


def test_summary_output_starts_with_the_store(tmp_path):
    store = tmp_path / "s.sqlite"
    result = _invoke(*SMALL, "--store", str(store), "--objective", "latency,params")
    lines = result.stdout.splitlines()
    assert lines[0] == f"store: {store}" and lines[-1] == f"store: {store}"
    assert any(line.startswith("Pareto front (") for line in lines)
    assert "latency" in result.stdout and "search finished: 2 generations, 12 evaluated" in result.stdout


def test_summary_flags_the_cycles_of_networks_that_cannot_fit(tmp_path):
    # No --fit-gap8: Xception candidates are evaluated, and their cycles flagged (HyperRAM exceeded).
    result = _invoke(*SMALL, "--backbone", "xception", "--store", str(tmp_path / "x.sqlite"),
                     "--objective", "latency")
    front = [line for line in result.stdout.splitlines() if line.endswith("does not fit GAP8)")]
    assert front and all("Mcycles (estimate; does not fit GAP8)" in line for line in front)
    assert "GAP8 latency" in result.stdout


def test_config_file_then_command_line(tmp_path):
    config = tmp_path / "search.toml"
    config.write_text(f'population = 8\nseed = 3\ngenerations = 2\nevaluator = "{FAKE}"\n'
                      'objectives = ["params"]\nstore = "from-file.sqlite"\n')
    store = tmp_path / "from-cli.sqlite"
    _invoke("--config", str(config), "--seed", "4", "--store", str(store), "--json")
    with Store.open(store, writable=False) as s:
        saved = s.meta()["config"]
    assert (saved["population"], saved["seed"], saved["objectives"]) == (8, 4, ["params"])
    assert not (tmp_path / "from-file.sqlite").exists()


def test_resume_extends_and_refuses_other_config(tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    _invoke(*SMALL, "--store", str(store), "--json")
    out = json.loads(_invoke("--resume", str(store), "--generations", "3", "--json").stdout)
    assert out["generations"] == 3 and out["store_hits"] >= 12
    assert main(["search", "--resume", str(store), "--seed", "9"]) == 2
    assert "seed: store has 0, now 9" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--objective", "energy"], "objective(s) ['energy']"),
    (["--evaluator", "nope_module_xyz:f"], "not found"),
], ids=["objective", "evaluator"])
def test_user_errors_exit_2_without_traceback(tmp_path, capsys, args, message):
    code = main(["search", "--store", str(tmp_path / "s.sqlite"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err


# -- settings from the weights' manifest; no dead ends after a failed start --------------------

REAL = ["--population", "4", "--generations", "1", "--val-fraction", "0.2"]


def _store_config(path) -> dict:
    with Store.open(path, writable=False) as s:
        return {**s.meta()["config"], "evaluations": s.count()}


def test_a_search_takes_its_input_size_classes_and_alpha_from_the_manifest(tmp_path, synth_voc, tiny_mnv2_weights):
    store = tmp_path / "m.sqlite"
    result = _invoke(*REAL, "--data", str(synth_voc), "--weights", str(tiny_mnv2_weights), "--store", str(store),
                     "--json")
    manifest = tiny_mnv2_weights.with_suffix(".json")
    assert f"network: input 64 px, 5 classes, alpha 0.35 (from the manifest {manifest})" in result.stderr
    saved = _store_config(store)
    assert (saved["input_size"], saved["classes"], saved["alpha"], saved["random_init"]) == (64, 5, 0.35, False)
    assert json.loads(result.stdout)["evaluations"] >= 4  # the weights loaded: the settings fit them


def test_a_given_input_size_wins_over_the_manifest_and_is_said(tmp_path, tiny_mnv2_weights):
    result = _invoke(*SMALL, "--weights", str(tiny_mnv2_weights), "--input-size", "96",
                     "--store", str(tmp_path / "g.sqlite"))
    assert "input 96 px (as given); 5 classes, alpha 0.35 (from the manifest" in result.stderr
    assert _store_config(tmp_path / "g.sqlite")["input_size"] == 96


def test_a_search_without_weights_is_refused_unless_random_init_is_asked_for(tmp_path, synth_voc, capsys):
    store = tmp_path / "r.sqlite"
    args = ["search", *REAL, "--data", str(synth_voc), "--classes", "5", "--alpha", "0.35", "--input-size", "64",
            "--store", str(store)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no --weights" in err and "--random-init" in err and not store.exists()
    assert main([*args, "--random-init", "--json"]) == 0
    out = capsys.readouterr()
    assert "warning: --random-init" in out.err
    assert _store_config(store)["random_init"] is True  # the store says what scored it
    device = json.loads(out.out)["device"]  # where the accuracy was scored: here, this machine's CPU
    assert device == current_device().describe() and device.startswith(("cpu: ", "gpu: "))
    with Store.open(store, writable=False) as s:
        assert s.meta()["device"] == device and _store_config(store)["device"] == "auto"


def _corrupt_first_val_image(folder):
    from fmas_hw.data.voc import VocDataset

    image = VocDataset(folder, 5).image_path(VocDataset(folder, 5).ids("val")[0])
    original = image.read_bytes()
    image.write_bytes(b"not a jpeg")
    return lambda: image.write_bytes(original)


@pytest.mark.slow  # four failed starts, each rerun as a real search
@pytest.mark.parametrize("failure", ["no-data", "corrupt-image", "gvsoc-without-sdk", "after-the-store"])
def test_a_search_with_a_failed_start_reruns_without_deleting_anything(failure, tmp_path, synth_voc,
                                                                       tiny_mnv2_weights, monkeypatch, capsys):
    import shutil

    data = tmp_path / "voc"
    shutil.copytree(synth_voc, data)
    store = tmp_path / "s.sqlite"
    good = ["search", *REAL, "--data", str(data), "--weights", str(tiny_mnv2_weights), "--store", str(store)]
    bad, expected, fix = list(good), "", lambda: None
    if failure == "no-data":
        bad = [a for a in good if a not in ("--data", str(data))]
        expected = "needs a VOC-format data set: pass --data"
    elif failure == "corrupt-image":
        fix, expected = _corrupt_first_val_image(data), "cannot be decoded"
    elif failure == "gvsoc-without-sdk":
        for var in ("GAP_SDK_HOME", "GAP_RISCV_GCC_TOOLCHAIN"):
            monkeypatch.delenv(var, raising=False)
        bad, expected = [*good, "--target", "gvsoc", "--objective", "latency"], "GAP SDK is not usable"
    else:  # a set-up failure only the evaluator finds (after the store was created)
        bad, expected = [*good, "--evaluator", "tests.search.fakes:build_broken_evaluator"], "weights not found"
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not store.with_suffix("").exists()  # no GAP8 project generated for nothing
    if failure != "after-the-store":
        assert not store.exists()  # checked before the store was created
    else:
        assert _store_config(store)["evaluations"] == 0
    fix()
    assert main([*good, "--json"]) == 0, capsys.readouterr().err  # the corrected command, same store
    assert _store_config(store)["evaluations"] >= 4


def test_resuming_a_store_that_never_finished_an_evaluation_starts_it_over(tmp_path, capsys, caplog):
    store = tmp_path / "s.sqlite"
    assert main(["search", *SMALL[:4], "--evaluator", "tests.search.fakes:build_broken_evaluator",
                 "--store", str(store)]) == 2
    capsys.readouterr()
    assert main(["search", "--resume", str(store), "--evaluator", FAKE, "--seed", "3", "--json"]) == 0
    assert any("held no finished evaluation" in r.getMessage() and "starting it over" in r.getMessage()
               for r in caplog.records)
    saved = _store_config(store)
    assert saved["seed"] == 3 and saved["evaluator"] == FAKE and saved["evaluations"] == 12


@pytest.fixture
def searched(tmp_path, synth_voc, tiny_mnv2_weights):
    """A finished real search (M=4, G=1) on a copy of the synthetic data, and its resume command."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(synth_voc, data)
    store = tmp_path / "d.sqlite"
    _invoke(*REAL, "--data", str(data), "--weights", str(tiny_mnv2_weights), "--store", str(store), "--json")
    return data, store, ["search", "--resume", str(store), "--generations", "2"]


def _first_val(data, folder: str, suffix: str):
    return data / folder / f"{(data / 'ImageSets/Segmentation/val.txt').read_text().split()[0]}{suffix}"


def _reorder(data):
    val = data / "ImageSets/Segmentation/val.txt"
    val.write_text("\n".join(reversed(val.read_text().split())) + "\n")


def _replace_image(data):
    from PIL import Image

    path = _first_val(data, "JPEGImages", ".jpg")
    with Image.open(path) as img:
        Image.eval(img, lambda v: 255 - v).save(path)


def _replace_mask(data):
    from PIL import Image

    path = _first_val(data, "SegmentationClass", ".png")
    with Image.open(path) as img:
        img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(path)


@pytest.mark.parametrize(("change", "named"), [
    (_reorder, "the subset's ids (val.txt reordered or edited)"),
    (_replace_image, "its images' bytes"), (_replace_mask, "its masks' bytes"),
], ids=["val.txt-reordered", "image-replaced", "mask-replaced"])
def test_resume_refuses_validation_data_that_changed_and_names_what(searched, capsys, change, named):
    data, store, resume = searched
    with Store.open(store, writable=False) as s:
        before = s.count()
        assert set(s.meta()["settings"]["data_digest"]) == {"ids", "images", "masks"}
    change(data)
    assert main(resume) == 2
    err = capsys.readouterr().err
    assert "\nerror: cannot resume" in err and "validation data changed" in err and named in err
    assert "Traceback" not in err
    with Store.open(store, writable=False) as s:
        assert s.count() == before  # nothing scored on the other images


def test_a_store_written_before_the_data_was_named_resumes_and_records_it(searched):
    data, store, _ = searched
    with Store.open(store) as s:
        digest = s.meta()["settings"].pop("data_digest")
        s.set_meta(settings={k: v for k, v in s.meta()["settings"].items() if k != "data_digest"})
    _invoke("--resume", str(store), "--generations", "1")  # replays the finished generation
    with Store.open(store, writable=False) as s:
        assert s.meta()["settings"]["data_digest"] == digest


def test_the_summary_counts_the_candidates_over_a_budget(tmp_path):
    store = tmp_path / "b.sqlite"
    result = _invoke(*SMALL, "--store", str(store), "--objective", "latency", "--max-cycles", "200000000",
                     "--max-params", "1500000")
    with Store.open(store, writable=False) as s:
        ok = [r for r in s.evaluations() if r.status == "ok"]
    cycles = sum(r.cycles > 200_000_000 for r in ok)
    params = sum(r.params > 1_500_000 for r in ok)
    total = sum(r.cycles > 200_000_000 or r.params > 1_500_000 for r in ok)
    assert cycles and params  # the supernet (a reference, always evaluated) is over --max-params
    assert (f"{total} over budget after evaluation ({cycles} over --max-cycles, {params} over --max-params), "
            "not on the front") in result.stdout
    out = json.loads(_invoke("--resume", str(store), "--generations", "3", "--json").stdout)
    assert set(out) >= {"over_budget", "over_budget_by"}
