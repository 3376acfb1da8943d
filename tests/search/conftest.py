"""Fixtures of the search tests: small configs over the fake evaluators, a call log."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fmas_hw.search import SearchConfig
from fmas_hw.search.measure.ahead import Ahead

from .fakes import FAKE


@pytest.fixture
def fake_log(tmp_path, monkeypatch) -> Path:
    """A log file every fake evaluator (in any process started from now on) appends to."""
    path = tmp_path / "fake-calls.log"
    monkeypatch.setenv("FMAS_FAKE_LOG", str(path))
    return path


@pytest.fixture
def make_config(tmp_path) -> Callable[..., SearchConfig]:
    """``make_config(name, **overrides)``: M=6, G=3 over the instant fake, store in tmp_path."""

    def make(name: str = "s", **overrides) -> SearchConfig:
        values = dict(population=6, generations=3, evaluator=FAKE, store=str(tmp_path / f"{name}.sqlite"))
        values.update(overrides)
        return SearchConfig(**values)

    return make


@pytest.fixture
def ahead_reports(monkeypatch) -> list[Ahead]:
    """Every :class:`Ahead` a closing measurement source reported (its measurements made ahead)."""
    seen: list[Ahead] = []
    monkeypatch.setattr(Ahead, "report", lambda self: seen.append(self))
    return seen
