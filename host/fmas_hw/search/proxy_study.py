"""``fmas-hw study proxy``: reproduce FMAS §3.2 on a supernet and a VOC-format data set.

The candidates are the supernet and N random sub-networks, or, with a search store, the supernet
and N of the candidates that search evaluated (with its data, weights and input size). Each runs
once over the whole validation set (:class:`~fmas_hw.eval.proxy_pass.ProxyPass`, counts cached in
the output folder so a killed study resumes); :mod:`fmas_hw.eval.proxy_study` derives the curve,
the rank agreement and the best-of-K optimism; :mod:`fmas_hw.report.study` writes them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..eval.proxy_pass import DEFAULT_FLIPS, Candidate, ProxyPass, random_candidates
from ..eval.proxy_study import DEFAULT_TOLERANCE, study
from ..model.supernet import Supernet
from ..report.study import write_study
from ..space import get_space

COUNTS = "counts.npz"


@dataclass(frozen=True)
class StudySettings:
    """What a proxy study runs on and how.

    Attributes:
        backbone / weights / data / input_size / classes / alpha: the supernet and data set.
        candidates: how many candidates besides the supernet.
        flips: random candidates differ from the supernet in 1..flips genome bits (0: uniform).
        fraction: the search subset the headline numbers are for.
        tolerance: mIoU points of mean deviation under which the curve counts as stable.
        out: the output folder (tables, plots, ``study.json``, the counts cache).
        store: take the candidates from this search store's evaluations instead of at random.
    """

    backbone: str
    weights: str
    data: str
    input_size: int
    classes: int
    alpha: float
    candidates: int = 50
    flips: int = DEFAULT_FLIPS
    fraction: float = 0.2
    tolerance: float = DEFAULT_TOLERANCE
    seed: int = 0
    batch: int | None = None
    out: str = "proxy-study"
    store: str | None = None
    formats: tuple[str, ...] = ("md", "csv")


def store_candidates(store_path: str, backbone: str, count: int, seed: int) -> list[Candidate]:
    """The supernet, then ``count`` of the store's successfully evaluated candidates (seeded draw)."""
    from ..store import Store

    space = get_space(backbone)
    supernet = space.canonical_genome(space.supernet_genome)
    with Store.open(store_path, writable=False) as store:
        genomes = sorted({r.genome for r in store.evaluations("ok")} - {supernet})
    if len(genomes) < 2:
        raise ConfigError(f"{store_path} holds {len(genomes)} evaluated candidate(s) besides the supernet; a "
                          "study needs at least 2: run the search further or study random candidates (--data)")
    chosen = np.random.default_rng(seed).permutation(len(genomes))[:count]
    return [Candidate("supernet", supernet), *(Candidate(f"S{i + 1}", genomes[j]) for i, j in enumerate(sorted(chosen)))]


def run_study(settings: StudySettings, log: Callable[[str], None] = print) -> dict:
    """Run the study and write its report; returns the summary (``study.json``)."""
    t0 = time.perf_counter()
    candidates = (store_candidates(settings.store, settings.backbone, settings.candidates, settings.seed)
                  if settings.store else
                  random_candidates(settings.backbone, settings.candidates, settings.seed, settings.flips))
    supernet = Supernet.build(settings.backbone, settings.input_size, settings.classes, settings.alpha,
                              settings.weights)
    proxy_pass = ProxyPass(supernet, settings.data, settings.batch)
    log(f"proxy study: {len(candidates)} candidates x {len(proxy_pass.image_ids)} validation images "
        f"(one pass each; counts cached in {Path(settings.out) / COUNTS})")
    counted = proxy_pass.run(candidates, Path(settings.out) / COUNTS, log)
    result = study([c.name for c in candidates], [c.genome for c in candidates], counted.counts,
                   settings.fraction, tolerance=settings.tolerance, seed=settings.seed)
    context = {"backbone": settings.backbone, "weights": settings.weights, "data": settings.data,
               "input_size": settings.input_size, "classes": settings.classes, "store": settings.store,
               "sampling": (f"drawn from the store {settings.store}" if settings.store else
                            f"the supernet with 1-{settings.flips} random genome bits flipped" if settings.flips else
                            "uniformly random genomes"),
               "seconds": time.perf_counter() - t0, "pass_seconds": counted.seconds}
    return write_study(result, settings.out, context, settings.formats)
