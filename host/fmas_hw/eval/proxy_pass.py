"""The one forward pass of a proxy study: per-image confusion counts of many candidates.

Each candidate runs once over the whole validation set (decoded once, held as arrays), with the
counts kept per image, so :mod:`.proxy_study` derives every fraction's error from them. The counts
are saved to an ``.npz`` every few candidates together with what they were counted on (weights
digest, image ids, input size): a killed study resumes where it stopped, and counts from other
weights or data are never mixed in.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.cache import load_split_arrays
from ..data.voc import VocDataset
from ..errors import DataError
from ..model.supernet import Supernet
from ..space import get_space
from .evaluator import SubsetEvaluator

SAVE_EVERY = 5


@dataclass(frozen=True)
class Candidate:
    """A candidate of the study: a display name and its genome."""

    name: str
    genome: str


#: Default largest number of genome bits a study candidate differs from the supernet in.
DEFAULT_FLIPS = 4


def random_candidates(backbone: str, count: int, seed: int, flips: int = DEFAULT_FLIPS) -> list[Candidate]:
    """The supernet, then ``count`` distinct random legal candidates (seeded).

    Args:
        flips: each candidate is the supernet with 1..``flips`` random genome bits flipped (then
            repaired), the region a search explores; 0 draws uniformly random genomes instead. A
            supernet trained as a whole (not by sampling sub-networks) turns most uniformly random
            sub-networks into constant predictors, whose tied errors say nothing about ranking.
    """
    space = get_space(backbone)
    rng = np.random.default_rng(seed)
    supernet = space.canonical_genome(space.supernet_genome)
    base = np.array([int(bit) for bit in supernet], np.int8)
    seen, out = {supernet}, [Candidate("supernet", supernet)]
    for _ in range(100 * count):
        if len(out) > count:
            break
        genome = space.canonical_genome(_mutant(base, rng, flips) if flips else space.random_genome(rng))
        if genome not in seen:
            seen.add(genome)
            out.append(Candidate(f"R{len(out)}", genome))
    return out


def _mutant(base: np.ndarray, rng: np.random.Generator, flips: int) -> np.ndarray:
    bits = base.copy()
    bits[rng.choice(len(bits), int(rng.integers(1, flips + 1)), replace=False)] ^= 1
    return bits


@dataclass(frozen=True)
class PassResult:
    """Per-image counts of every candidate, in the order asked for."""

    candidates: list[Candidate]
    counts: list[np.ndarray]
    image_ids: list[str]
    seconds: float


class ProxyPass:
    """Counts candidates of one supernet on one data set's whole validation list.

    Args:
        supernet: the in-memory supernet.
        data: VOC-format data set folder.
        batch: forward-pass batch size (default: the evaluator's for the input size).
    """

    def __init__(self, supernet: Supernet, data: str | Path, batch: int | None = None):
        self.supernet = supernet
        dataset = VocDataset(data, num_classes=supernet.classes)
        self.image_ids = dataset.ids("val")
        images, labels = load_split_arrays(dataset, "val", supernet.input_size, 1.0, backbone=supernet.backbone)
        self.evaluator = SubsetEvaluator(supernet, images, labels, batch)

    @property
    def identity(self) -> str:
        """What the counts depend on: weights, image list, input size, classes."""
        text = "|".join([self.supernet.weights_hash, str(self.supernet.input_size), str(self.supernet.classes),
                         *self.image_ids])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def run(self, candidates: Sequence[Candidate], cache: Path | None = None,
            log: Callable[[str], None] = lambda _m: None) -> PassResult:
        """Counts of every candidate; those in ``cache`` (same identity) are not run again."""
        t0 = time.perf_counter()
        done = self._load(cache) if cache else {}
        space = get_space(self.supernet.backbone)
        for i, candidate in enumerate(candidates):
            if candidate.genome in done:
                continue
            done[candidate.genome] = self.evaluator.per_image_counts(space.decode(candidate.genome))
            log(f"  {i + 1}/{len(candidates)} {candidate.name}")
            if cache and len(done) % SAVE_EVERY == 0:
                self._save(cache, done)
        if cache:
            self._save(cache, done)
        return PassResult(list(candidates), [done[c.genome] for c in candidates], self.image_ids,
                          time.perf_counter() - t0)

    def _load(self, path: Path) -> dict[str, np.ndarray]:
        if not path.is_file():
            return {}
        try:
            with np.load(path) as saved:
                if str(saved["identity"]) != self.identity:
                    return {}  # other weights or data: count again rather than mix
                return dict(zip(saved["genomes"].tolist(), saved["counts"], strict=True))
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"cannot read the proxy-study counts {path}: {exc}; delete the file to "
                            "count again") from exc

    def _save(self, path: Path, done: dict[str, np.ndarray]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.stem + ".partial.npz")  # never leave a half-written cache
        np.savez_compressed(partial, identity=self.identity, genomes=np.array(list(done)),
                            counts=np.stack(list(done.values())).astype(np.int32))
        partial.replace(path)
