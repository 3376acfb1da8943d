"""A search SIGKILLed mid-generation resumes with nothing finished lost or repeated, and ends
with the front of an uninterrupted run — done for real, with two `fmas-hw search` processes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from fmas_hw.search import run

from .fakes import REPO, read_log

ARGS = ["--population", "6", "--generations", "3", "--seed", "5"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fmas_hw.cli.main", "search", *args, "--json"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _env(log: Path) -> dict[str, str]:
    env = dict(os.environ, FMAS_FAKE_LOG=str(log), FMAS_FAKE_ACC_S="0.2", FMAS_FAKE_LAT_S="0.1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _query(store: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as conn:
        return conn.execute(sql).fetchall()


def _wait_for_generation_1(store: Path, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Poll the store until the first evaluation of generation 1 is committed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"search ended before it could be killed: {proc.communicate()}"
        try:
            if _query(store, "SELECT COUNT(*) FROM evaluations WHERE generation >= 1")[0][0] >= 1:
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.02)
    raise AssertionError("no evaluation of generation 1 appeared in time")


def _rows(store: Path) -> dict[str, tuple]:
    rows = _query(store, "SELECT arch_key, status, error, flops, params, cycles, generation FROM evaluations")
    return {r[0]: r for r in rows}


def test_sigkill_mid_generation_then_resume(tmp_path, make_config, monkeypatch):
    store, log = tmp_path / "killed.sqlite", tmp_path / "calls.log"
    reference = run(make_config("reference", seed=5))

    proc = _cli(*ARGS, "--store", str(store), "--evaluator", "tests.search.fakes:build_slow_evaluator",
                env=_env(log))
    _wait_for_generation_1(store, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    at_kill = _rows(store)
    last_gen = _query(store, "SELECT COALESCE(MAX(gen), -1) FROM generations")[0][0]
    assert max(r[-1] for r in at_kill.values()) > last_gen, "the kill must land mid-generation"
    calls_before = Counter(w[1] for w in read_log(log) if w[0] == "accuracy")

    resumed = _cli("--resume", str(store), env=_env(log))
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    final = json.loads(out)

    after = _rows(store)
    assert {k: after[k] for k in at_kill} == at_kill, "a finished evaluation was lost or changed"
    assert _query(store, "SELECT COUNT(*) FROM evaluations")[0][0] == len(after)
    calls = Counter(w[1] for w in read_log(log) if w[0] == "accuracy")
    repeated = {k for k, n in calls.items() if n > 1}
    # Only a candidate in flight at the kill (finished, not yet committed) may run twice.
    assert not repeated & set(at_kill) and len(repeated) <= 1
    assert set(calls) == {k for k, r in after.items() if r[1] == "ok"}
    assert final["evaluations"] == len(after) - len(at_kill)
    assert final["store_hits"] >= len(at_kill) and sum(calls_before.values()) >= len(at_kill)
    assert final["front"] == reference.to_dict()["front"]
    assert final["generations"] == 3


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_workers_of_a_killed_search_exit_within_seconds(tmp_path):
    import psutil

    store, log = tmp_path / "orphans.sqlite", tmp_path / "calls.log"
    proc = _cli(*ARGS, "--workers", "2", "--evaluator", "tests.search.fakes:build_slow_evaluator",
                "--store", str(store), env=_env(log))
    try:
        _wait_for_generation_1(store, proc)
        children = psutil.Process(proc.pid).children(recursive=True)  # the workers, the resource tracker
        assert len(children) >= 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(c.pid) for c in children):
        time.sleep(0.1)
    left = [f"{c.pid} {c.name()}" for c in children if _alive(c.pid)]
    for child in children:  # do not leave them to the next test either
        if _alive(child.pid):
            child.kill()
    assert not left, f"still running 10 s after the search was killed: {left}"
