"""``fmas-hw report`` on the command line: files, --json, default folder, --full-set, and clear errors."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest
from click.testing import CliRunner

from fmas_hw.cli.main import cli, main
from fmas_hw.space import get_space
from tests.conftest import finished_store, random_genomes


def test_json_lists_the_files_and_the_summary(mnv2_store, tmp_path):
    out = tmp_path / "r"
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["report", "--store", str(mnv2_store), "--out", str(out), "--format", "md,csv,html", "--json"],
        catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["out_dir"] == str(out)
    files = data["files"]
    assert files["markdown"] == str(out / "report.md") and files["html"] == str(out / "report.html")
    assert set(files["csv"]) == {"candidates", "generations", "accounting"}
    assert files["plots"]["front-flops"]["png"] == str(out / "front-flops.png")
    summary = data["summary"]
    assert summary["generations"] == 3 and summary["candidates"][0]["name"] == "supernet"
    assert summary["accounting"]["evaluations"] > 0 and summary["fidelity"] is None
    html = (out / "report.html").read_text()
    assert '<img src="front-flops.png"' in html and "<table>" in html


def test_default_out_dir_is_next_to_the_store_and_paths_are_printed(mnv2_store, tmp_path):
    store = tmp_path / "copy.sqlite"
    shutil.copy(mnv2_store, store)
    result = CliRunner().invoke(cli, ["report", "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = tmp_path / "copy-report"
    assert result.output.splitlines()[0] == f"report: {out}"
    assert str(out / "report.md") in result.output and str(out / "hypervolume.svg") in result.output
    assert (out / "candidates.csv").is_file() and not (out / "report.html").exists()


def test_missing_store_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "--store", str(tmp_path / "nope.sqlite")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: store ") and "does not exist" in err and "Traceback" not in err


def test_corrupt_store_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not an sqlite file at all" * 40)
    assert main(["report", "--store", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable fmas-hw store" in err and "Traceback" not in err


def test_sqlite_file_that_is_not_a_store(tmp_path, capsys):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    assert main(["report", "--store", str(other)]) == 2
    assert "not an fmas-hw search store" in capsys.readouterr().err


def test_store_without_generations(mnv2_store, tmp_path, capsys):
    empty = tmp_path / "empty.sqlite"
    shutil.copy(mnv2_store, empty)
    with sqlite3.connect(empty) as conn:
        conn.execute("DELETE FROM generations")
    conn.close()
    assert main(["report", "--store", str(empty)]) == 2
    assert "no finished generation yet" in capsys.readouterr().err


def test_unknown_format_is_a_usage_error(mnv2_store, capsys):
    assert main(["report", "--store", str(mnv2_store), "--format", "md,pdf"]) == 2
    assert "pdf" in capsys.readouterr().err


def test_unwritable_out_dir(mnv2_store, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["report", "--store", str(mnv2_store), "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot create the report folder") and "Traceback" not in err


def _tables(path) -> set[str]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_full_set_scores_the_front_first_and_the_plain_report_stays_read_only(
        tmp_path, tiny_mnv2_weights, synth_voc):
    store = finished_store(tmp_path / "real.sqlite", random_genomes(get_space("mobilenetv2"), 3, seed=5),
                           weights=str(tiny_mnv2_weights), data=str(synth_voc))
    plain = CliRunner().invoke(cli, ["report", "--store", str(store)], catch_exceptions=False)
    assert plain.exit_code == 0, plain.output
    assert "full-set scoring" not in plain.output and "full_set" not in _tables(store)
    runner = CliRunner(mix_stderr=False)
    result = runner.invoke(cli, ["report", "--store", str(store), "--full-set", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("full-set scoring: evaluating 4 of 4 (the supernet and the final front)")
    summary = json.loads(result.stdout)["summary"]  # the scoring's lines went to stderr
    front = summary["front_fidelity"]
    assert front["n"] == front["front_size"] == 3 and front["max_abs_gap_points"] >= 0
    assert all(c["error_full_no_ft_source"] == "full_set" for c in summary["candidates"])
    again = runner.invoke(cli, ["report", "--store", str(store), "--full-set"], catch_exceptions=False)
    assert again.exit_code == 0, again.stderr
    assert "evaluating 0 of 4" in again.stdout and "4 already scored" in again.stdout
    assert "subset vs full set over 3 of 3 front members: max |gap|" in again.stdout


def test_full_set_on_a_store_without_weights_is_a_clear_error(mnv2_store, tmp_path, capsys):
    store = tmp_path / "fake.sqlite"
    shutil.copy(mnv2_store, store)
    out = tmp_path / "r"
    assert main(["report", "--store", str(store), "--full-set", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: store ") and "report without --full-set" in err and "Traceback" not in err
    assert not out.exists() and "full_set" not in _tables(store)


def test_report_writes_nothing_beside_the_store(mnv2_store, tmp_path):
    folder = tmp_path / "stores"
    folder.mkdir()
    store = folder / "s.sqlite"
    shutil.copy(mnv2_store, store)
    content = store.read_bytes()
    result = CliRunner().invoke(cli, ["report", "--store", str(store), "--out", str(tmp_path / "r")],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["s.sqlite"]  # no -wal, no -shm
    assert store.read_bytes() == content


def _read_only_mount_works() -> bool:
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount --bind / /mnt 2>/dev/null; exit 0"],
                           capture_output=True)
    return shutil.which("unshare") is not None and probe.returncode == 0


@pytest.mark.skipif(not _read_only_mount_works(), reason="needs `unshare -m` and mount (a private mount namespace)")
def test_report_reads_a_store_on_a_read_only_file_system(mnv2_store, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copy(mnv2_store, folder / "s.sqlite")
    # A read-only bind mount in a private mount namespace: root cannot write there either.
    script = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
              f"! touch {folder}/probe 2>/dev/null && "
              f"{sys.executable} -m fmas_hw.cli.main report --store {folder}/s.sqlite --out {tmp_path}/r")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "not a readable fmas-hw store" not in done.stderr and (tmp_path / "r" / "report.md").is_file()
