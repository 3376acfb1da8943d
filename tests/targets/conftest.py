"""Fixtures of the target tests: a fake GAP SDK, a project folder, a fake board on a pty."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from fmas_targets_testkit import LAYERS, FakeBoard, render_run

from tests.fake_sdk import fake_sdk, project  # noqa: F401 - fixtures


@pytest.fixture
def run_bytes() -> bytes:
    """A complete, valid run as the firmware prints it."""
    return "".join(render_run(LAYERS)).encode()


@pytest.fixture
def board(tmp_path: Path) -> Iterable[FakeBoard]:
    fake = FakeBoard(tmp_path)
    yield fake
    fake.close()


@pytest.fixture
def counting_trigger() -> Callable[..., tuple[Callable[[object], None], list[int]]]:
    """Factory of board triggers that play one script per call and count the calls."""

    def make(fake: FakeBoard, scripts: list[list[bytes | float | str]]):
        calls: list[int] = []

        def trigger(link: object) -> None:
            calls.append(len(calls) + 1)
            fake.play(scripts[min(len(calls), len(scripts)) - 1])

        return trigger, calls

    return make
