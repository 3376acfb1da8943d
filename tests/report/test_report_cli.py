"""``fmas-hw report`` on the command line: files, --json, default folder, and clear errors."""

from __future__ import annotations

import json
import shutil
import sqlite3

from click.testing import CliRunner

from fmas_hw.cli.main import cli, main


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
