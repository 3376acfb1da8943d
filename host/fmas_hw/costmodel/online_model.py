"""The cycle model a search refits from its own measurements.

Every candidate measured on GVSoC, a board or the simulated target yields per-kernel cycles
(:func:`~fmas_hw.targets.project_records.project_records`: the run log joined with the model's
features through ``model/layers.json``). :class:`OnlineCycleModel` takes those records after each run
(:meth:`~OnlineCycleModel.observe`) and

* keeps them in a :class:`~.layer_cache.LayerCycleCache`, so that a layer whose configuration
  was measured before is predicted by its measured cycles (source ``"cache"``), and a candidate
  made only of measured layers is predicted from measurements alone;
* refits the cycle model on every distinct measured layer (one record per configuration, its
  median), the way ``fmas-hw calibrate`` does offline, for the layers never measured (source
  ``"model"``).

When it refits (:class:`RefitPolicy`): while the cache holds fewer than ``records_per_constant``
(default 3) distinct layers per constant the records inform, only the global scale is refitted
(about a millisecond, after every run): a handful of layers cannot pin down 12-14 constants, and a
scale fit cannot over-fit. From then on the constants are refitted, after every ``every``-th run
(default 1: a refit is far cheaper than one GVSoC run, docs/design.md, "Refitting online"; raise
``every`` when runs are fast). Each refit starts from the base model, so the fitted model depends
on the measurements, not on the order they came in.

Each refit bumps :attr:`~OnlineCycleModel.version`; :meth:`~OnlineCycleModel.identity` is the
base model's identity plus it (``gap8_cycle_model.toml@<digest>+refit3``), which is what the
estimate records as the cycle model version of each figure. Its predictions are still estimates:
a cached layer's cycles were measured, the candidate's total was not.

How good the estimate is, honestly: each observed run is first predicted with what was learnt so
far, then learnt from; :attr:`~OnlineCycleModel.prediction_errors` keeps log(predicted/measured)
of those runs, out of sample (:meth:`~OnlineCycleModel.rms_prediction_error`), which is the
error a decision "could this candidate matter?" has to allow for. A search saves the whole state
(:meth:`~OnlineCycleModel.save`, ``<store>.layers.json``) after each observation and resumes
with :meth:`~OnlineCycleModel.load`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError, MeasurementError
from .calibrate import Calibration, Record, calibrate, informed_constants
from .cycle_model import (
    PARAMS,
    CycleModel,
    LayerFeatures,
    layer_cycles,
    load_cycle_model,
    model_identity,
)
from .layer_cache import LayerCycleCache, read_json, write_json_atomic

#: Where a search keeps the online model next to its store: ``<store>.layers.json``.
STATE_SUFFIX = ".layers.json"
STATE_SCHEMA = 1
#: The sources of a layer's predicted cycles.
CACHE, MODEL = "cache", "model"


class LayerPrediction(NamedTuple):
    """Predicted cycles of one layer and where they come from (``"cache"`` or ``"model"``)."""

    name: str
    cycles: int
    source: str


@dataclass(frozen=True)
class RefitPolicy:
    """When :class:`OnlineCycleModel` refits (see the module docstring).

    Attributes:
        records_per_constant: distinct measured layers needed per informed constant before the
            constants are refitted; the scale alone before.
        every: refit the constants after every ``every``-th observed run (the cheap scale-only
            refit runs after each).

    Raises:
        ConfigError: on construction, a setting below 1.
    """

    records_per_constant: int = 3
    every: int = 1

    def __post_init__(self) -> None:
        for name in ("records_per_constant", "every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"refit policy: {name} must be >= 1, got {getattr(self, name)}")


class OnlineCycleModel:
    """A cycle model that learns from measured runs: a per-layer cache plus a refitted model.

    Thread-safe (a search may report measurements while it asks for estimates) and picklable.

    Args:
        base: the cycle model it starts from (and every refit starts from).
        base_identity: the base model's identity (:func:`~.cycle_model.model_identity`).
        policy: when to refit.
        cache: measured layers to start with (a resumed search's); refitted on at once.
    """

    def __init__(self, base: CycleModel, base_identity: str, policy: RefitPolicy | None = None,
                 cache: LayerCycleCache | None = None) -> None:
        self.base = base
        self.base_identity = base_identity
        self.policy = policy or RefitPolicy()
        self.cache = cache if cache is not None else LayerCycleCache()
        self.model = base
        self.mode = "base"
        self.version = 0
        self.observations = 0
        self.last_calibration: Calibration | None = None
        self.last_refit_s = 0.0
        #: log(predicted / measured) of each observed run's layers, predicted before learning from it.
        self.prediction_errors: list[float] = []
        self._since_refit = 0
        self._lock = threading.RLock()
        if len(self.cache):
            self._refit(constants=self._constants_due())

    @classmethod
    def from_file(cls, model_file: str | Path | None = None, policy: RefitPolicy | None = None,
                  cache: LayerCycleCache | None = None) -> OnlineCycleModel:
        """The online model on top of a cycle-model file (default as :func:`~.cycle_model.model_path`).

        Raises:
            ConfigError: the cycle-model file is missing or malformed.
        """
        return cls(load_cycle_model(model_file), model_identity(model_file), policy, cache)

    def identity(self) -> str:
        """``<base model identity>+refit<version>``: names the model behind every prediction."""
        return f"{self.base_identity}+refit{self.version}"

    @staticmethod
    def version_of(identity: str) -> int:
        """The refit version an :meth:`identity` names (0 for a model never refitted)."""
        _, sep, version = identity.rpartition("+refit")
        return int(version) if sep and version.isdigit() else 0

    # -- learning ---------------------------------------------------------------------------------

    def observe(self, records: Sequence[Record], source: str) -> bool:
        """Learn from the calibration records of one measured run.

        Args:
            records: per measured kernel, the model's features and the cycles
                (:func:`~fmas_hw.targets.project_records.project_records` of the run's project).
            source: the target that measured them (``"gvsoc"``, ``"board"``, ``"simulated"``).

        Returns:
            Whether the model was refitted (and its version bumped).

        Raises:
            MeasurementError: no records, a record with non-positive cycles, or a source other
                than the one the cache holds.
        """
        if not records:
            raise MeasurementError(f"a {source} run with no measured layers: nothing to learn from")
        bad = [r.features.name for r in records if r.cycles <= 0]
        if bad:  # checked before any is added: a run is learnt from whole or not at all
            raise MeasurementError(f"{source} run: measured cycles must be > 0, not for {', '.join(bad)}")
        with self._lock:
            if self.cache.source not in (None, source):
                raise MeasurementError(f"this online model learns from {self.cache.source!r} measurements, "
                                       f"not {source!r}: keep one per measurement target")
            predicted = sum(p.cycles for p in self.predict([r.features for r in records]))
            self.prediction_errors.append(math.log(max(predicted, 1) / sum(r.cycles for r in records)))
            for record in records:
                self.cache.add(record.features, record.cycles, source)
            self.observations += 1
            self._since_refit += 1
            constants = self._constants_due()
            if constants and self.mode == "constants" and self._since_refit < self.policy.every:
                return False
            self._refit(constants)
            return True

    def rms_prediction_error(self, last: int | None = None) -> float | None:
        """Root-mean-square of :attr:`prediction_errors` (of the ``last`` runs), None before any.

        An out-of-sample error: each run was predicted before the model learnt from it, so this
        is how far the estimate of a not yet measured candidate is off (what a decision to
        measure or not can allow for).
        """
        with self._lock:
            errors = self.prediction_errors[-last:] if last else self.prediction_errors
            return math.sqrt(sum(e * e for e in errors) / len(errors)) if errors else None

    def training_records(self) -> list[Record]:
        """One record per measured layer configuration, with its median cycles."""
        with self._lock:
            return [Record(config.features(entry.name), entry.cycles) for config, entry in self.cache.items()]

    def _constants_due(self) -> bool:
        features = [config.features(entry.name) for config, entry in self.cache.items()]
        informed = max(len(informed_constants(features)), 1)
        if self.mode == "constants":
            # A new kind of layer informs one more constant: keep fitting constants (one record
            # per constant is what the fit needs) rather than fall back to the scale alone.
            return len(features) >= informed
        return len(features) >= self.policy.records_per_constant * informed

    def _refit(self, constants: bool) -> None:
        start = time.perf_counter()
        calibration = calibrate(self.training_records(), self.base, scale_only=not constants)
        self.last_refit_s = time.perf_counter() - start
        self.model, self.last_calibration = calibration.model, calibration
        self.mode = calibration.mode
        self.version += 1
        self._since_refit = 0

    # -- predicting -------------------------------------------------------------------------------

    def predict(self, features: Sequence[LayerFeatures]) -> list[LayerPrediction]:
        """Cycles of every layer that runs a kernel (the others take none), in order.

        A layer whose configuration was measured gets its measured cycles (source ``"cache"``),
        any other the refitted model's (source ``"model"``).
        """
        with self._lock:
            model = self.model
            out = []
            for f in features:
                if f.kind == "concat" or not f.runs:
                    continue
                measured = self.cache.lookup(f)
                if measured is not None:
                    out.append(LayerPrediction(f.name, measured, CACHE))
                else:
                    cycles = round(model.scale * layer_cycles(f, model.params, model.cores))
                    out.append(LayerPrediction(f.name, cycles, MODEL))
            return out

    def predict_versioned(self, features: Sequence[LayerFeatures]) -> tuple[list[LayerPrediction], dict[str, str]]:
        """:meth:`predict` and what the prediction was made with (the model's name and scale,
        :meth:`versions`), read at once: a refit on another thread never falls between them."""
        with self._lock:
            model = {"cycle_model": self.model.name, "scale": f"{self.model.scale:g}"}
            return self.predict(features), {**model, **self.versions()}

    def versions(self) -> dict[str, str]:
        """What an estimate made with this model records in its ``tool_versions``."""
        with self._lock:
            return {"cycle_model_version": self.identity(), "online_fit": self.mode,
                    "online_observations": str(self.observations), "layer_cache_entries": str(len(self.cache))}

    # -- persistence ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON: cache, fitted model, version and counters."""
        with self._lock:
            return {"schema": STATE_SCHEMA, "base": self.base_identity, "version": self.version,
                    "observations": self.observations, "since_refit": self._since_refit, "mode": self.mode,
                    "prediction_errors": list(self.prediction_errors),
                    "model": {"name": self.model.name, "scale": self.model.scale, "params": dict(self.model.params)},
                    "cache": self.cache.to_dict()}

    def save(self, path: str | Path) -> Path:
        """Write the state as JSON (atomically), e.g. to ``<store>`` + :data:`STATE_SUFFIX`."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | Path, base: CycleModel, base_identity: str,
             policy: RefitPolicy | None = None) -> OnlineCycleModel:
        """The online model saved by :meth:`save`, exactly as it was (same version, same fit).

        Raises:
            ConfigError: the file cannot be read, or it was learnt on another base model.
            MeasurementError: the file is malformed or of another schema.
        """
        data = read_json(path, "online cycle model")
        if data.get("schema") != STATE_SCHEMA:
            raise MeasurementError(f"{path}: online model schema {data.get('schema')!r} is not supported "
                                   f"(expected {STATE_SCHEMA})")
        if data.get("base") != base_identity:
            raise ConfigError(f"{path} was learnt on top of the cycle model {data.get('base')!r}, not "
                              f"{base_identity!r}: use that model, or delete the file to start afresh")
        online = cls(base, base_identity, policy)
        try:
            fitted = data["model"]
            params = {name: float(fitted["params"][name]) for name in PARAMS}
            online.model = CycleModel(str(fitted["name"]), float(fitted["scale"]), params, base.cores)
            online.cache = LayerCycleCache.from_dict(data["cache"])
            online.version, online.observations = int(data["version"]), int(data["observations"])
            online._since_refit, online.mode = int(data["since_refit"]), str(data["mode"])
            online.prediction_errors = [float(e) for e in data.get("prediction_errors", [])]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MeasurementError(f"{path}: the online model state is malformed ({exc!r})") from exc
        return online

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]  # locks do not pickle; a copy in another process gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
