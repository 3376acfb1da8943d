"""Deterministic fake evaluators for search tests (and ``bench/parallel.py``).

Every score is a pure function of the architecture: error grows with the layers/blocks left out
and with coarser strides, FLOPs shrink with them, parameters count kept blocks, cycles follow
FLOPs plus a dilation penalty. A tiny key-derived jitter breaks ties so fronts are not
degenerate. Factories are what ``SearchConfig.evaluator`` names, e.g.
``"tests.search.fakes:build_fake_evaluator"``.

When the environment variable ``FMAS_FAKE_LOG`` names a file, every evaluator build and every
finished accuracy call appends one line (``build <pid>`` / ``accuracy <key> <pid>``) to it, so
tests can count calls across processes (appends of one short line are atomic).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from fmas_hw.space import Arch, MobileNetV2Arch, XceptionArch
from fmas_hw.targets.measurement import Measurement

#: The instant fake, as a search config names it.
FAKE = "tests.search.fakes:build_fake_evaluator"
#: The repository root (subprocesses run there, with it on PYTHONPATH, to import this module).
REPO = Path(__file__).resolve().parents[2]
#: MobileNetV2 block -> output channels (keras-deeplab-v3-plus block ids).
MNV2_CHANNELS = {0: 16, 1: 24, 2: 24, 3: 32, 4: 32, 5: 32, 6: 64, 7: 64, 8: 64, 9: 64,
                 10: 96, 11: 96, 12: 96, 13: 160, 14: 160, 15: 160, 16: 320}
SUPERNET_DILATION = {7: 2, 8: 2, 9: 2, 10: 2, 11: 2, 12: 2, 13: 2, 14: 4, 15: 4, 16: 4}
SUPERNET_STRIDE = {1: 2, 3: 2}


def jitter(arch: Arch) -> float:
    """A deterministic value in [0, 0.004) derived from the architecture key."""
    return int(hashlib.sha1(arch.key.encode()).hexdigest()[:8], 16) / 2**32 * 0.004


def mnv2_scores(arch: MobileNetV2Arch, size: int) -> dict[str, Any]:
    """Analytic-ish error, FLOPs, params and cycles of a MobileNetV2 candidate."""
    hw = size / 2
    flops = params = 0
    dilation_penalty = 0.0
    prev = 32
    for layer in arch.layers:
        hw /= layer.stride
        cout = MNV2_CHANNELS[layer.block]
        exp = prev * (1 if layer.block == 0 else 6)
        block_params = prev * exp + 9 * exp + exp * cout
        params += block_params
        flops += int(2 * block_params * hw * hw)
        dilation_penalty += abs(layer.dilation - SUPERNET_DILATION.get(layer.block, 1)) * 0.004
        prev = cout
    dropped = 15 - (len(arch.layers) - 2)
    coarse = sum(layer.stride - SUPERNET_STRIDE.get(layer.block, 1) for layer in arch.layers)
    error = 0.30 + 0.012 * dropped + 0.06 * coarse + dilation_penalty + jitter(arch)
    cycles = int(flops * 0.2 + 1e6 * sum(layer.dilation for layer in arch.layers))
    return {"error": min(error, 0.99), "flops": flops, "params": params, "cycles": cycles}


def xception_scores(arch: XceptionArch, size: int) -> dict[str, Any]:
    """Analytic-ish error, FLOPs, params and cycles of an Xception candidate."""
    middle = len(arch.middle_blocks)
    area = (2 / arch.entry_stride) ** 2 * (size / 513) ** 2
    flops = int((4.0e10 + middle * 3.5e9) * area)
    params = int(15.2e6 + 1.63e6 * middle)
    error = 0.25 + 0.01 * (16 - middle) + 0.04 * abs(arch.entry_stride - 2) + 0.01 * (arch.middle_rate - 1)
    error += 0.01 * (arch.exit_rates != (1, 2)) + 0.005 * (arch.aspp_rates != (6, 12, 18)) + jitter(arch)
    return {"error": min(error, 0.99), "flops": flops, "params": params, "cycles": int(flops * 0.3)}


class FakeEvaluator:
    """A :class:`~fmas_hw.search.evaluation.CandidateEvaluator` with analytic scores.

    Args:
        input_size: square input size (scales FLOPs).
        accuracy_sleep / latency_sleep: seconds each call sleeps (to mimic device time).
        fail_every: fail the accuracy of candidates whose key hash is divisible by it (0: never);
            the supernet never fails.
    """

    def __init__(self, input_size: int, accuracy_sleep: float = 0.0, latency_sleep: float = 0.0,
                 fail_every: int = 0) -> None:
        self.input_size = input_size
        self.accuracy_sleep = accuracy_sleep
        self.latency_sleep = latency_sleep
        self.fail_every = fail_every
        _log("build")

    def _scores(self, arch: Arch) -> dict[str, Any]:
        if isinstance(arch, MobileNetV2Arch):
            return mnv2_scores(arch, self.input_size)
        return xception_scores(arch, self.input_size)  # type: ignore[arg-type]

    def costs(self, arch: Arch) -> dict[str, int]:
        s = self._scores(arch)
        return {"flops": s["flops"], "params": s["params"]}

    def accuracy(self, arch: Arch) -> tuple[float, float]:
        started = time.perf_counter()
        time.sleep(self.accuracy_sleep)
        if should_fail(arch, self.fail_every):
            raise RuntimeError(f"fake accuracy failure for {arch.key}")
        _log(f"accuracy {arch.key}")
        return self._scores(arch)["error"], time.perf_counter() - started

    def latency(self, arch: Arch) -> tuple[Measurement, float]:
        started = time.perf_counter()
        time.sleep(self.latency_sleep)
        measured = Measurement(self._scores(arch)["cycles"], [], 175_000_000, "estimate", True,
                               {"cycle_model": "fake"})
        return measured, time.perf_counter() - started


def should_fail(arch: Arch, every: int) -> bool:
    """The failing fake's rule: key hash divisible by ``every``; never the supernet."""
    if not every or _is_supernet(arch):
        return False
    return int(hashlib.sha1(arch.key.encode()).hexdigest()[:8], 16) % every == 0


def _is_supernet(arch: Arch) -> bool:
    from fmas_hw.space import get_space

    return arch.key == get_space(arch.backbone).supernet().key


def _log(line: str) -> None:
    path = os.environ.get("FMAS_FAKE_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(f"{line} {os.getpid()}\n")


def _size(config: Any) -> int:
    from fmas_hw.space import get_space

    return int(config.input_size or get_space(config.backbone).default_input_size)


def build_fake_evaluator(config: Any) -> FakeEvaluator:
    """Instant fake evaluator."""
    return FakeEvaluator(_size(config))


def build_slow_evaluator(config: Any) -> FakeEvaluator:
    """Fake with device-like sleeps: accuracy ``FMAS_FAKE_ACC_S`` (0.2 s), latency
    ``FMAS_FAKE_LAT_S`` (0.1 s)."""
    return FakeEvaluator(_size(config), float(os.environ.get("FMAS_FAKE_ACC_S", "0.2")),
                         float(os.environ.get("FMAS_FAKE_LAT_S", "0.1")))


def build_failing_evaluator(config: Any) -> FakeEvaluator:
    """Fake whose accuracy raises for about one candidate in three (never the supernet)."""
    return FakeEvaluator(_size(config), fail_every=3)


class RngConsumingEvaluator(FakeEvaluator):
    """Draws from numpy's global random state on every call, as careless model code does."""

    def accuracy(self, arch: Arch) -> tuple[float, float]:
        np.random.random(7)
        return super().accuracy(arch)


def build_rng_consuming_evaluator(config: Any) -> FakeEvaluator:
    """Same scores as the instant fake, but it disturbs ``np.random`` in-process."""
    return RngConsumingEvaluator(_size(config))


def build_broken_evaluator(config: Any) -> FakeEvaluator:
    """A factory that cannot build its evaluator (a set-up error, e.g. weights missing)."""
    from fmas_hw.errors import WeightsError

    raise WeightsError("fake: supernet weights not found")


def build_not_an_evaluator(config: Any) -> object:
    """A factory returning something without the evaluator methods."""
    return object()


def read_log(path: str | os.PathLike) -> list[list[str]]:
    """The log lines split into words (missing file: empty)."""
    try:
        with open(path) as fh:
            return [line.split() for line in fh if line.strip()]
    except FileNotFoundError:
        return []
