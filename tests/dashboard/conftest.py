"""Fixtures of the dashboard tests: real searches over the fake evaluators, run in this process
or as a `fmas-hw search` in the background, and the commands started as users start them."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from fmas_hw.search import SearchConfig, run

from ..search.fakes import REPO

#: Fails about one candidate in three (never the supernet).
FAILING = "tests.search.fakes:build_failing_evaluator"
#: Sleeps like a device: FMAS_FAKE_ACC_S / FMAS_FAKE_LAT_S seconds per candidate.
SLOW = "tests.search.fakes:build_slow_evaluator"


def search_config(store: Path, **overrides) -> SearchConfig:
    """M=6, G=3 over the failing fake, error + cycles, a parameter budget: a store with every kind
    of row (evaluated, over the budget, failed, rejected before evaluation)."""
    values = dict(population=6, generations=3, seed=1, evaluator=FAILING, objectives=("latency",),
                  max_params=1_500_000, store=str(store))
    values.update(overrides)
    return SearchConfig(**values)


@pytest.fixture
def searched(tmp_path) -> Path:
    """A finished search's store (:func:`search_config`)."""
    store = tmp_path / "search.sqlite"
    run(search_config(store))
    return store


def env(**extra: str) -> dict[str, str]:
    """This environment, with the repository importable (the fakes) and ``extra``."""
    out = dict(os.environ, **extra)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), str(REPO / "host"), out.get("PYTHONPATH")]))
    return out


def fmas_hw(*args: str, log: Path, **extra_env: str) -> subprocess.Popen:
    """``fmas-hw ARGS`` started in the background, as a user starts it; stdout goes to ``log``,
    stderr to ``log`` with ``.err`` appended (files, so that nothing waits on a full pipe)."""
    with open(log, "w") as out, open(f"{log}.err", "w") as err:
        return subprocess.Popen([sys.executable, "-m", "fmas_hw.cli.main", *args], cwd=REPO,
                                env=env(**extra_env), stdout=out, stderr=err, text=True)


def query(store: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the store, read-only (the store may not exist yet: no rows), closed at
    once: a connection left open would keep the search from removing its write-ahead log."""
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.Error:
        return []


def wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen | None = None,
             timeout: float = 90.0) -> None:
    """Poll ``check`` until it holds; fail saying ``what`` (and the process's output if it ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"ended before {what}: rc {proc.returncode}, {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def dashboard_url(proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> str:
    """The base URL a ``fmas-hw dashboard`` started with :func:`fmas_hw` prints once it serves."""
    found: list[str] = []

    def started() -> bool:
        found[:] = [line for line in Path(f"{log}.err").read_text().splitlines()
                    if line.startswith("dashboard: http://")]
        return bool(found)

    wait_for("the dashboard to serve", started, proc, timeout)
    return found[0].split()[1].split("/dashboard/")[0]


def stop(proc: subprocess.Popen) -> None:
    """Kill ``proc`` if it still runs (a test's clean-up)."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
