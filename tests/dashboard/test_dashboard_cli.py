"""``fmas-hw dashboard`` and ``fmas-hw optuna-export`` as users run them: one-line errors, a taken
port, loopback by default, Ctrl-C, and no TensorFlow."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.request

import pytest

from fmas_hw.cli.main import main

from .conftest import dashboard_url, env, fmas_hw, stop, wait_for


def _not_stores(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all\n")
    plain = tmp_path / "plain.sqlite"
    with sqlite3.connect(plain) as conn:
        conn.execute("CREATE TABLE t (x)")
    return {"missing": (tmp_path / "none.sqlite", "does not exist"),
            "text": (text, "is not a readable fmas-hw store"),
            "sqlite": (plain, "is an SQLite file but not an fmas-hw search store")}


@pytest.mark.parametrize("command", ["dashboard", "optuna-export"])
@pytest.mark.parametrize("kind", ["missing", "text", "sqlite"])
def test_a_file_that_is_not_a_search_store_is_a_one_line_error(tmp_path, capsys, command, kind):
    path, says = _not_stores(tmp_path)[kind]
    assert main([command, "--store", str(path), "--port" if command == "dashboard" else "--json",
                 *(["0"] if command == "dashboard" else [])]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("*optuna*")), "nothing was written"


def test_a_taken_port_is_a_one_line_error_and_writes_nothing(searched, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["dashboard", "--store", str(searched), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: port {port} on 127.0.0.1 is already in use (another dashboard?): choose another with --port\n"
    assert not searched.with_name("search-optuna.db").exists()


def test_it_serves_the_study_and_the_report_on_loopback_and_ctrl_c_stops_it(searched, tmp_path):
    log = tmp_path / "dashboard.log"
    proc = fmas_hw("dashboard", "--store", str(searched), "--port", "0", log=log)
    try:
        base = dashboard_url(proc, log)
        assert base.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base}/api/studies", timeout=30) as answer:
            [study] = json.load(answer)["study_summaries"]
        assert study["study_name"] == "search" and study["directions"] == ["minimize", "minimize"]

        def report_written() -> bool:
            with urllib.request.urlopen(f"{base}/report/", timeout=30) as answer:
                return "FMAS search report — search.sqlite" in answer.read().decode()

        wait_for("the report's page", report_written, proc, timeout=60)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        stop(proc)
    err = (tmp_path / "dashboard.log.err").read_text()
    assert err.rstrip().endswith("dashboard stopped") and "Traceback" not in err
    assert searched.with_name("search-optuna.db").is_file()


def test_export_prints_the_study_and_imports_no_tensorflow(searched, tmp_path):
    out = tmp_path / "exported.db"
    code = (f"import sys; from fmas_hw.cli.main import main; rc = main(['optuna-export', '--store', {str(searched)!r}, "
            f"'--out', {str(out)!r}, '--json']); assert 'tensorflow' not in sys.modules, 'imported TensorFlow'; "
            "sys.exit(rc)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env())
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["study"] == str(out) and summary["study_name"] == "search"
    assert summary["trials"] == summary["complete"] + summary["failed"] + summary["pruned"] == summary["added"]
    assert summary["failed"] and summary["pruned"] and summary["infeasible"] and summary["front"]
