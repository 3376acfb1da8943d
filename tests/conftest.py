"""Shared fixtures: tiny supernets and inputs so the suite runs on 2 CPU cores."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def tiny_mnv2_supernet():
    """A reduced-width (alpha 0.35) MobileNetV2 supernet at 64x64, 5 classes, random weights."""
    from fmas_hw.model.supernet import Supernet

    supernet = Supernet.build("mobilenetv2", input_size=64, classes=5, alpha=0.35)
    randomize_weights(supernet.model, seed=0)
    return supernet


@pytest.fixture(scope="session")
def tiny_mnv2_weights(tiny_mnv2_supernet, tmp_path_factory):
    """The tiny supernet's weights as a file, with the manifest that says how it was built
    (64 px, 5 classes, width 0.35): what `fmas-hw train` writes."""
    from fmas_hw.model.manifest import write_manifest
    from fmas_hw.model.weights import save_weights

    path = tmp_path_factory.mktemp("weights") / "tiny.h5"
    save_weights(tiny_mnv2_supernet.model, path)
    write_manifest(path, {"backbone": "mobilenetv2", "classes": 5, "alpha": 0.35, "input_size": 64})
    return path


def randomize_weights(model, seed: int) -> None:
    """Give every weight a random value distinct from any initialiser (BN variances positive)."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        values = rng.normal(0.0, 0.1, w.shape).astype(np.float32)
        if "moving_variance" in w.name or "gamma" in w.name:
            values = 1.0 + np.abs(values)
        w.assign(values)


def random_genomes(space, n: int, seed: int) -> list[str]:
    """``n`` random genomes of ``space`` as bit strings (repaired, so every one is legal)."""
    from fmas_hw.space.genome import format_genome

    rng = np.random.default_rng(seed)
    return [format_genome(space.random_genome(rng)) for _ in range(n)]


@pytest.fixture(scope="session", autouse=True)
def _session_cache_dir(tmp_path_factory):
    """Keep the decode-once disk cache out of the user's home during tests."""
    os.environ["FMAS_HW_CACHE"] = str(tmp_path_factory.mktemp("fmas-cache"))


@pytest.fixture(scope="session")
def synth_voc(tmp_path_factory):
    """A tiny synthetic VOC-format data set: 64 px, 5 classes, 16 train / 10 val images."""
    from fmas_hw.data.synth import write_synthetic_voc

    out = tmp_path_factory.mktemp("voc")
    return write_synthetic_voc(out, train=16, val=10, size=64, num_classes=5, seed=11)


@pytest.fixture(scope="session")
def sdk_sources():
    """The GAP SDK's open sources (``GAP_SDK_HOME``, else ``../shared/third_party``).

    Skips with the reason when absent, so a fresh clone's ``make test`` passes; under CI
    (``CI`` set, where the shared folder is always laid) their absence is a failure instead,
    so that the real-SDK tests can never be skipped there unnoticed.
    """
    from fmas_hw.toolchain.sdk_sources import find_sdk_sources, missing_sources_reason

    found = find_sdk_sources()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(missing_sources_reason() + " (CI must run the real-SDK tests)")
        pytest.skip(missing_sources_reason())
    return found


#: Subset errors :func:`finished_store` records: the supernet's, then each front member's.
SUBSET_ERRORS = (0.9, 0.5, 0.3, 0.7)
#: Their FLOPs: the members trade error for FLOPs, and the supernet is dominated (0.3 at 400).
SUBSET_FLOPS = (500, 300, 400, 200)


def finished_store(path, genomes: list[str], **config):
    """A MobileNetV2 store as a finished search with the built-in evaluator leaves it (64 px,
    5 classes, width 0.35, subset = first 0.2 of val.txt): config and settings in meta, the
    supernet and ``genomes`` evaluated with :data:`SUBSET_ERRORS` and :data:`SUBSET_FLOPS`, so that
    the front (of every evaluation, and of the last population) is ``genomes``.

    ``config``: further search-config keys (``weights``, ``data``, ``random_init``, ...).
    """
    from fmas_hw.search import SearchConfig
    from fmas_hw.space import MobileNetV2Space
    from fmas_hw.store import EvaluationRecord, GenerationRecord, Store

    space = MobileNetV2Space()
    cfg = SearchConfig(input_size=64, classes=5, alpha=0.35, val_fraction=0.2, store=str(path), **config)
    digest = cfg.settings.digest
    with Store.create(path, {"config": cfg.to_dict(), "settings": cfg.settings.to_dict(),
                             "settings_digest": digest}) as store:
        for genome, error, flops in zip([space.supernet_genome, *genomes], SUBSET_ERRORS, SUBSET_FLOPS,
                                        strict=False):
            arch = space.decode(genome)
            store.add_evaluation(EvaluationRecord(arch_key=arch.key, settings_digest=digest, genome=genome, arch=arch.to_dict(), status="ok", error=error,
                                                  flops=flops, generation=0))
        front = [space.decode(g).key for g in genomes]
        store.add_generation(GenerationRecord(0, [], [], front, 0.5, 4, 0, 0, 1.0, 0.0, 1.0, 1.0, 1.0, "rng"))
    return path
