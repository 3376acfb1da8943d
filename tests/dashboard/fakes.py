"""A fake evaluator that is both slow and failing: a search whose trials take every state while
a browser watches it (``SearchConfig.evaluator`` names it as a module outside fmas_hw)."""

from __future__ import annotations

import os
from typing import Any

from fmas_hw.space import get_space

from ..search.fakes import FakeEvaluator

#: As a search config names it.
SLOW_FAILING = "tests.dashboard.fakes:build_slow_failing_evaluator"


def build_slow_failing_evaluator(config: Any) -> FakeEvaluator:
    """The failing fake (about one candidate in three raises) with the slow fake's sleeps
    (``FMAS_FAKE_ACC_S`` / ``FMAS_FAKE_LAT_S`` seconds per candidate)."""
    size = int(config.input_size or get_space(config.backbone).default_input_size)
    return FakeEvaluator(size, float(os.environ.get("FMAS_FAKE_ACC_S", "0.2")),
                         float(os.environ.get("FMAS_FAKE_LAT_S", "0.1")), fail_every=3)
