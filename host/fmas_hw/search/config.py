"""The search configuration: one frozen dataclass, loadable from TOML, overridable from the CLI.

Precedence, lowest first: built-in defaults, the ``--config`` TOML file, command-line options
(and, when resuming, the configuration saved in the store comes first of all). Every value is
validated here, at the boundary, with a message that names the key and the accepted values.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..model.device import DEVICE_CHOICES
from ..space import SPACES
from ..targets.base import Target
from ..targets.registry import DEFAULT_TARGET, open_target
from .settings import EvalSettings

if TYPE_CHECKING:  # the model package imports TensorFlow: only when a config is resolved
    from ..model.manifest import NetworkSettings

OBJECTIVES = ("flops", "params", "latency")
MEASURE_MODES = ("all", "front")
#: Keys that may change between a search and its resumption: they decide how and how long the
#: search runs, never which candidates it asks for or what scores they get.
RUNTIME_KEYS = frozenset({"workers", "scheduler", "store", "overlap", "generations", "measure_workers", "ports",
                          "threads_per_worker", "device"})
_PATH_KEYS = ("data", "weights", "store")
_ALIASES = {"objective": "objectives"}


@dataclass(frozen=True)
class SearchConfig:
    """A complete, validated search configuration (SPEC §5).

    ``generations``, ``input_size``, ``classes``, ``alpha`` and ``store`` may be left None:
    :meth:`resolved` fills in the weights' manifest or the backbone's defaults, and a fresh
    store path under ``runs/``.
    """

    backbone: str = "mobilenetv2"
    objectives: tuple[str, ...] = ("flops",)
    target: str = DEFAULT_TARGET
    data: str | None = None
    weights: str | None = None
    population: int = 12
    generations: int | None = None
    val_fraction: float = 0.2
    seed: int = 0
    store: str | None = None
    #: Local accuracy workers; None: one per GPU the device choice runs on, else one (resolved by
    #: :meth:`resolved`).
    workers: int | None = None
    #: Where TensorFlow runs the candidates: "auto" (the GPUs when TensorFlow sees one), "cpu" or
    #: "gpu" (:mod:`fmas_hw.model.device`). Not part of the identity: the scores agree within
    #: float rounding.
    device: str = "auto"
    #: Threads each local worker's TensorFlow may use; None: the cores shared out between the
    #: workers of a pool, and TensorFlow's own choice for one in-process worker
    #: (:mod:`fmas_hw.search.threads`). Not applied to Dask workers.
    threads_per_worker: int | None = None
    scheduler: str | None = None
    max_cycles: int | None = None
    max_params: int | None = None
    fit_gap8: bool = False
    input_size: int | None = None
    classes: int | None = None
    alpha: float | None = None
    #: The built-in evaluator without ``weights`` scores a randomly initialised supernet (every
    #: error near 1.0): refused unless this says it is meant (the store then records it).
    random_init: bool = False
    #: None: the built-in supernet evaluator; else a factory ``"package.module:callable"`` outside
    #: this package (tests' fakes, a user's own scorer), called with the config.
    evaluator: str | None = None
    overlap: bool = True
    #: Measurement workers of a target that runs projects (GVSoC processes), or the board ports,
    #: one worker each: see :mod:`fmas_hw.search.measure.pool`.
    measure_workers: int = 1
    ports: tuple[str, ...] = ()
    #: "all": measure every candidate on the target; "front": estimate all, measure only those
    #: whose measurement could change the front (see :mod:`fmas_hw.search.measure.front`), and
    #: the final front.
    measure: str = "all"
    #: Least log-error assumed of the estimate when deciding what to measure (0.01: ±1 %; the
    #: margin used is the larger of this and the estimate's largest error over the latest
    #: measurements, see :func:`fmas_hw.search.measure.front.estimate_margin`).
    measure_margin: float = 0.01
    #: Derived, not set by users: the target's identity (:meth:`Target.identity
    #: <fmas_hw.targets.base.Target.identity>`: the estimate's cycle-model file and digest, the
    #: SDK tag, AutoTiler and protocol versions of GVSoC and the board), recomputed by
    #: :meth:`resolved`. It is part of the identity, so a search cannot be resumed under another
    #: (e.g. recalibrated) cycle model or SDK and mix two toolchains' figures in one front.
    target_identity: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "objectives", _parse_objectives(self.objectives))
        if isinstance(self.ports, list | tuple):
            object.__setattr__(self, "ports", tuple(str(p) for p in self.ports))
        for key in _PATH_KEYS:
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, str(value))
        _validate(self)

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        """Build a config from plain values (e.g. :meth:`to_dict` output or a parsed file).

        Raises:
            ConfigError: unknown keys or invalid values.
        """
        return cls().merge(data)

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchConfig:
        """Load a config file (keys as in :meth:`to_dict`; '-' or '_'; ``[search]`` table ok).

        Raises:
            ConfigError: unreadable file, TOML syntax error, unknown keys, invalid values.
        """
        return cls().merge(load_toml(path))

    def merge(self, overrides: dict[str, Any]) -> SearchConfig:
        """Return a copy with ``overrides`` applied; None values mean "not given" and are skipped.

        Raises:
            ConfigError: unknown keys (all named) or invalid values.
        """
        clean = {_ALIASES.get(k.replace("-", "_"), k.replace("-", "_")): v
                 for k, v in overrides.items() if v is not None}
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(clean) - known)
        if unknown:
            raise ConfigError(f"unknown search config key(s) {unknown}: expected some of {sorted(known)}")
        return dataclasses.replace(self, **clean)

    def resolved(self, target: Target | None = None) -> SearchConfig:
        """Fill in the backbone's generations, the network settings (:meth:`network`), a new
        store path, and the target's name and identity.

        Args:
            target: the target the search measures on (default: the one :attr:`target` names).

        Raises:
            ConfigError: :attr:`target` names no target (and none is given).
            WeightsError: the weights' manifest is unreadable or names another backbone.
        """
        target = target or open_target(self.target)
        store = self.store or str(default_store_path(self))
        net = self.network()
        return dataclasses.replace(
            self,
            generations=self.generations or SPACES[self.backbone].default_generations,
            input_size=net.input_size, classes=net.classes, alpha=net.alpha,
            store=str(Path(store).expanduser().resolve()),
            data=_absolute(self.data),
            weights=_absolute(self.weights),
            target=target.name, target_identity=target.identity(),
        )

    def network(self) -> NetworkSettings:
        """Input size, classes and width as set here, else from the weights' manifest, else the
        defaults (the backbone's input size, 21 classes, width 1.0), with where each came from.

        Raises:
            WeightsError: the weights' manifest is unreadable or names another backbone.
        """
        from ..model.manifest import network_settings

        return network_settings(self.weights, self.backbone, self.classes, self.alpha, self.input_size,
                                SPACES[self.backbone].default_input_size)

    # -- derived values ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (what the store saves)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["objectives"] = list(self.objectives)
        return out

    def identity(self) -> dict[str, Any]:
        """The keys that define the search (all but :data:`RUNTIME_KEYS`)."""
        return {k: v for k, v in self.to_dict().items() if k not in RUNTIME_KEYS}

    @property
    def digest(self) -> str:
        """16 hex digits of :meth:`identity` (workers cache one evaluator per digest)."""
        blob = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @property
    def projects_dir(self) -> Path | None:
        """Where the candidates' GAP8 projects are generated: ``<store without suffix>/projects``."""
        return Path(self.store).with_suffix("") / "projects" if self.store else None

    @cached_property
    def settings(self) -> EvalSettings:
        """The evaluation settings: the second half of every store key."""
        return EvalSettings(
            backbone=self.backbone,
            data=None if self.data is None else str(Path(self.data).resolve()),
            val_fraction=float(self.val_fraction),
            weights_hash=None if self.weights is None else file_hash(self.weights),
            input_size=int(self.input_size or SPACES[self.backbone].default_input_size),
            target=self.target,
            target_identity=self.target_identity or "",
            evaluator=self.evaluator or "",
        )


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a search config file; relative paths in it are relative to the file's folder.

    Raises:
        ConfigError: missing/unreadable file or TOML syntax error.
    """
    toml = _toml_module()
    path = Path(path)
    try:
        data = toml.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read search config {path}: {exc.strerror}") from exc
    except toml.TOMLDecodeError as exc:
        raise ConfigError(f"search config {path} is not valid TOML: {exc}") from exc
    data = data.get("search", data)
    for key in _PATH_KEYS:
        if isinstance(data.get(key), str) and not Path(data[key]).expanduser().is_absolute():
            data[key] = str(path.parent / data[key])
    return data


def _toml_module() -> Any:
    """The standard library's TOML reader (Python 3.11+, which the project requires)."""
    import tomllib

    return tomllib


def default_store_path(config: SearchConfig) -> Path:
    """``runs/search-<backbone>-<objectives>-s<seed>-<timestamp>.sqlite`` under the cwd."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"search-{config.backbone}-{'-'.join(config.objectives)}-s{config.seed}-{stamp}.sqlite"


def file_hash(path: str | Path) -> str:
    """SHA-256 prefix (16 hex digits) of a file's content.

    Raises:
        ConfigError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ConfigError(f"cannot read weights file {path}: {exc.strerror}") from exc
    return digest.hexdigest()[:16]


def _absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


def _parse_objectives(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        for name in str(item).split(","):
            name = name.strip().lower()
            if name and name not in out:
                out.append(name)
    bad = [o for o in out if o not in OBJECTIVES]
    if bad or not out:
        raise ConfigError(f"objective(s) {bad or value!r} not understood: choose one or more of {list(OBJECTIVES)}")
    return tuple(out)


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ConfigError(message)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(c: SearchConfig) -> None:
    _check(c.backbone in SPACES, f"backbone {c.backbone!r} unknown: expected one of {sorted(SPACES)}")
    _check(isinstance(c.target, str) and bool(c.target), f"target must be a target's name, got {c.target!r}")
    _check(_is_int(c.population) and c.population >= 4, f"population must be an integer >= 4, got {c.population!r}")
    _check(c.generations is None or (_is_int(c.generations) and c.generations >= 1),
           f"generations must be an integer >= 1, got {c.generations!r}")
    _check(isinstance(c.val_fraction, int | float) and 0 < c.val_fraction <= 1,
           f"val_fraction must be in (0, 1], got {c.val_fraction!r}")
    _check(_is_int(c.seed) and c.seed >= 0, f"seed must be an integer >= 0, got {c.seed!r}")
    _check(c.workers is None or (_is_int(c.workers) and c.workers >= 1),
           f"workers must be an integer >= 1, got {c.workers!r}")
    _check(c.device in DEVICE_CHOICES, f"device must be one of {list(DEVICE_CHOICES)}, got {c.device!r}")
    _check(c.threads_per_worker is None or (_is_int(c.threads_per_worker) and c.threads_per_worker >= 1),
           f"threads_per_worker must be an integer >= 1 (or left out for the automatic share), "
           f"got {c.threads_per_worker!r}")
    for key in ("max_cycles", "max_params"):
        value = getattr(c, key)
        _check(value is None or (_is_int(value) and value > 0), f"{key} must be a positive integer, got {value!r}")
    _check(c.input_size is None or (_is_int(c.input_size) and c.input_size >= 32),
           f"input_size must be an integer >= 32, got {c.input_size!r}")
    _check(c.classes is None or (_is_int(c.classes) and c.classes >= 2),
           f"classes must be an integer >= 2, got {c.classes!r}")
    _check(c.alpha is None or (isinstance(c.alpha, int | float) and c.alpha > 0),
           f"alpha must be a positive number, got {c.alpha!r}")
    _check(isinstance(c.fit_gap8, bool) and isinstance(c.overlap, bool) and isinstance(c.random_init, bool),
           "fit_gap8, overlap and random_init must be true/false")
    _check(c.evaluator is None or (isinstance(c.evaluator, str) and ":" in c.evaluator),
           f"evaluator must be written 'package.module:callable', got {c.evaluator!r}")
    _check(c.scheduler is None or isinstance(c.scheduler, str), f"scheduler must be an address, got {c.scheduler!r}")
    _check(_is_int(c.measure_workers) and c.measure_workers >= 1,
           f"measure_workers must be an integer >= 1, got {c.measure_workers!r}")
    _check(isinstance(c.ports, tuple) and all(isinstance(p, str) and p for p in c.ports),
           f"ports must be a list of serial ports, got {c.ports!r}")
    _check(c.measure in MEASURE_MODES, f"measure must be one of {list(MEASURE_MODES)}, got {c.measure!r}")
    _check(isinstance(c.measure_margin, int | float) and 0 <= c.measure_margin < 2,
           f"measure_margin must be in [0, 2) (a log-error), got {c.measure_margin!r}")
    for key in ("data", "weights"):
        value = getattr(c, key)
        _check(value is None or Path(value).expanduser().exists(), f"{key} path {value} does not exist")
