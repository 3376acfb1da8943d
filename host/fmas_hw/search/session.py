"""A search session: check what can fail at set-up, create or reopen the store, run the loop.

:func:`run` is the Python API behind ``fmas-hw search``. Everything that can be checked before a
store exists (the config, the evaluator, the data, the weights, the target) is checked first
(:func:`prepare_config`, :mod:`.preflight`), so a wrong command leaves nothing behind; a resumed
store is checked against the config and the evaluation settings it was written under
(:func:`open_store`) before the loop replays it.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pymoo

from .. import __version__
from ..costmodel.online_model import STATE_SUFFIX
from ..errors import ConfigError, StoreError
from ..model.device import current_device
from ..space import get_space
from ..store import Store
from ..targets.base import Target
from ..targets.registry import open_target
from .config import SearchConfig
from .indicators import reference_point
from .loop import SearchLoop
from .measure.choose import choose_strategy
from .measure.strategy import plan_measurement
from .preflight import check_ready, validation_digest
from .progress import Progress
from .result import SearchResult
from .settings import EvalSettings, data_changes
from .stored_config import upgraded

log = logging.getLogger(__name__)


def run(config: SearchConfig | dict[str, Any], resume: str | Path | None = None, *,
        target: Target | None = None, progress: bool | None = False,
        on_start: Callable[[Path], None] | None = None) -> SearchResult:
    """Run (or resume) a search; the Python API behind ``fmas-hw search``.

    Args:
        config: the search config (a :class:`SearchConfig` or its dict form).
        resume: a store to continue; its saved config is checked against ``config``.
        target: the target to measure on (e.g. a configured board, a test double); its name
            replaces ``config.target``. Default: the target ``config.target`` names.
        progress: show tqdm bars on stderr (None: only when stderr is a terminal).
        on_start: called with the store path once the store is open.

    Returns:
        The :class:`SearchResult`.

    Raises:
        ConfigError: invalid config, evaluator or constraint hook missing, scheduler unreachable,
            no weights (without ``random_init``) or no data for the built-in evaluator.
        StoreError: store exists (new search) / missing, damaged, of another config (resume).
        DataError / WeightsError / MeasurementError: data, weights or target not ready
            (checked before the store is created: see :mod:`.preflight`).
        FmasError: the supernet itself cannot be evaluated.
    """
    config, target = prepare_config(config, resume, target)
    store = open_store(config, resume)
    try:
        device = accuracy_device(config)
        store.set_meta(device=device)  # how this run scores, which is not part of the identity
        if on_start is not None:
            on_start(store.path)
        strategy = choose_strategy(config, target, store, get_space(config.backbone).supernet().key)
        try:
            result = SearchLoop(config, store, strategy, Progress(config.generations or 0, progress)).run()
        finally:
            strategy.close()
        result.device = device
        return result
    finally:
        store.close()


def prepare_config(config: SearchConfig | dict[str, Any], resume: str | Path | None,
                   target: Target | None = None) -> tuple[SearchConfig, Target]:
    """Resolve defaults and check, before anything is started, what can fail at set-up.

    Returns:
        The resolved config and the search's target (``target``, else the one the config names).

    Raises:
        ConfigError: invalid values, an unknown target name, conflicting ``store``/``resume``,
            evaluator module or the GAP8 memory hook missing, no weights or data (see
            :func:`.preflight.check_ready`), a measurement mode the target cannot serve.
        DataError / WeightsError / MeasurementError: see :func:`.preflight.check_ready`.
    """
    if isinstance(config, dict):
        config = SearchConfig.from_dict(config)
    if resume is not None:
        if config.store and Path(config.store).resolve() != Path(resume).resolve():
            raise ConfigError(f"--store {config.store} and --resume {resume} name different stores")
        config = config.merge({"store": str(resume)})
    target = target or open_target(config.target)
    config = config.resolved(target)
    # The device is chosen here, before the store exists (--device gpu without one fails now), and
    # gives the default worker count: one accuracy worker per GPU.
    gpus = 0 if config.scheduler or config.evaluator else current_device(config.device).count
    if config.workers is None:
        config = config.merge({"workers": max(1, gpus)})
    plan_measurement(config, target)  # its set-up errors, before anything exists
    module = (config.evaluator or "").partition(":")[0]
    try:
        found = not module or importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package of the module is missing
        found = False
    if not found:
        raise ConfigError(f"evaluator module {module!r} not found (evaluator {config.evaluator!r})")
    check_ready(config, target)
    return config, target


def accuracy_device(config: SearchConfig) -> str:
    """Where the candidates' accuracy is scored, in words (``search --json``, the report)."""
    if config.scheduler:
        return f"the Dask workers of {config.scheduler} (--device {config.device} on each)"
    if config.evaluator:
        return f"the device of the evaluator {config.evaluator}"
    device = current_device(config.device)
    share = ", one worker per GPU" if device.count > 1 and (config.workers or 1) > 1 else ""
    return device.describe() + share


def open_store(config: SearchConfig, resume: str | Path | None) -> Store:
    """Create the store of a new search, or open and check the store of a resumed one.

    A store that holds no finished evaluation (what a start that failed leaves) is started over,
    with this config, whether the command resumes it or names it as a new ``--store``.

    Raises:
        StoreError: see :meth:`Store.create`, :meth:`Store.open`, :meth:`Store.check_config`, or
            the evaluation settings (e.g. the weights file's content) changed since.
    """
    settings = replace(config.settings, data_digest=validation_digest(config))
    if Path(config.store).exists() and Store.delete_if_unstarted(config.store):  # type: ignore[arg-type]
        log.warning("store %s held no finished evaluation (a start that failed): starting it over", config.store)
        _discard_side_files(config)
        resume = None
    if resume is None:
        return Store.create(config.store, {  # type: ignore[arg-type]
            "config": config.to_dict(), "settings": settings.to_dict(), "settings_digest": settings.digest,
            "reference_point": reference_point(len(config.objectives)), "fmas_hw_version": __version__,
            "pymoo_version": pymoo.__version__,
        })
    store = Store.open(config.store)  # type: ignore[arg-type]
    try:
        check_pymoo_unchanged(store)
        store.check_config(config.identity(), stored=upgraded(store.meta().get("config", {})))
        stored = store.meta().get("settings", {})
        changed = sorted(k for k, v in settings.to_dict().items() if k != "data_digest" and stored.get(k) != v)
        if changed:
            raise StoreError(f"cannot resume {store.path}: the evaluation settings changed ({', '.join(changed)}), "
                             "e.g. the weights file was replaced; start a new --store")
        check_data_unchanged(store, stored, settings)
        done = len(store.generations())
        if (config.generations or 0) < done:
            raise StoreError(f"store {store.path} already holds {done} generations: resume with "
                             f"--generations {done} or more")
        store.set_meta(config=config.to_dict())
    except BaseException:
        store.close()
        raise
    return store


#: pymoo's version in a store that does not record it: every fmas-hw before that pinned 0.6.1.3.
PYMOO_BEFORE_RECORDED = "0.6.1.3"


def check_pymoo_unchanged(store: Store) -> None:
    """Refuse to resume a search whose generations another pymoo drew: its NSGA-II takes other
    random steps from the same seed, so the replay could not reproduce the stored generations.

    Raises:
        StoreError: naming both versions and what to do.
    """
    written = store.meta().get("pymoo_version", PYMOO_BEFORE_RECORDED)
    if written != pymoo.__version__:
        raise StoreError(
            f"cannot resume {store.path}: its generations were drawn by pymoo {written}, and this fmas-hw runs "
            f"pymoo {pymoo.__version__}, whose NSGA-II takes other random steps from the same seed, so the "
            "search cannot be replayed. Finish it with the fmas-hw release that started it, or start a new "
            "--store; its results stay readable (report, dashboard, optuna-export)")


def check_data_unchanged(store: Store, stored: dict[str, Any], settings: EvalSettings) -> None:
    """Refuse to resume on validation data other than the stored rows were scored on; a store
    written before the data was named records it now.

    Raises:
        StoreError: naming what changed (the subset's ids, its images, its masks).
    """
    changes = data_changes(stored.get("data_digest"), settings.data_digest)
    if changes:
        raise StoreError(
            f"cannot resume {store.path}: the validation data changed since its rows were scored "
            f"({'; '.join(changes)} under {settings.data}); new rows would be scored on other images. "
            "Restore the data set as it was, or start a new --store")
    if not stored.get("data_digest") and settings.data_digest:
        store.set_meta(settings={**stored, "data_digest": settings.data_digest})


def _discard_side_files(config: SearchConfig) -> None:
    """The projects and the learnt cycle model of a store being started over: made under the
    failed start's settings, they must not be reused under the new ones."""
    if config.projects_dir is not None and config.projects_dir.is_dir():
        shutil.rmtree(config.projects_dir)
    Path(str(config.store) + STATE_SUFFIX).unlink(missing_ok=True)


