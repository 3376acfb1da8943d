"""What a search checks before it creates its store: weights, data and the target.

Everything that can fail at set-up fails here, in seconds, before the store (and any GAP8
project) exists, so a corrected command is not blocked by the leftovers of a failed start:

* the weights: given, or ``random_init`` asked for explicitly (a randomly initialised supernet
  scores every candidate near error 1.0); a readable Keras weight file;
* the data set: given, and the validation subset the candidates are scored on decodes (it is
  decoded once here, into the cache the evaluator then reads: no extra decoding);
* the target: ready to measure (:meth:`Target.check_ready
  <fmas_hw.targets.base.Target.check_ready>`: the GAP SDK of GVSoC, the board's port).

The data and weights are checked for the built-in evaluator only: another evaluator (a plug-in,
a test's fake) may need neither. A search on a Dask cluster measures on the cluster's workers,
which have their own SDK and boards, so its target is not checked on this host.
"""

from __future__ import annotations

from ..errors import ConfigError
from ..targets.base import Target
from ..targets.registry import open_target
from .config import SearchConfig

_NO_WEIGHTS = ("the search has no --weights: a randomly initialised supernet scores every candidate near "
               "error 1.0, so the front would say nothing about accuracy. Pass --weights FILE (e.g. "
               "models/supernets/mobilenetv2_synth8_64.h5), or --random-init to search on random weights "
               "anyway (the store and its report are labelled so)")


def check_ready(config: SearchConfig, target: Target | None = None) -> None:
    """Check a resolved config's weights, data and target (default: the one it names) before the
    search starts.

    Raises:
        ConfigError: no weights and no ``random_init`` (or both), no data set.
        WeightsError: the weights file is not a Keras weight file.
        DataError: the data set or a file of its validation subset is missing or undecodable.
        MeasurementError: the target is not ready (e.g. ``SdkMissingError``, ``DeviceNotFoundError``).
    """
    if config.evaluator is None:
        check_weights(config)
        check_data(config)
    if config.scheduler is None:
        check_target(config, target or open_target(config.target))


def check_weights(config: SearchConfig) -> None:
    """The weights are given (or random initialisation asked for) and readable."""
    if config.weights is None and not config.random_init:
        raise ConfigError(_NO_WEIGHTS)
    if config.weights is not None and config.random_init:
        raise ConfigError("random_init and weights contradict each other: give one of them "
                          "(drop --random-init to search with the weights)")
    if config.weights is not None:
        from ..model.weights import check_weight_file

        check_weight_file(config.weights)


def check_data(config: SearchConfig) -> None:
    """The validation subset decodes at the search's input size (and is cached for the evaluator)."""
    from ..data.cache import load_raw_split
    from ..data.voc import VocDataset

    if not config.data:
        raise ConfigError("the search needs a VOC-format data set: pass --data DIR "
                          "(`fmas-hw data synth --out DIR` writes a synthetic one)")
    dataset = VocDataset(config.data, num_classes=config.network().classes)
    load_raw_split(dataset, "val", config.network().input_size, config.val_fraction)


def validation_digest(config: SearchConfig) -> dict[str, str] | None:
    """Digests of the validation subset the built-in evaluator scores on (ids, images, masks),
    from the decode cache that :func:`check_data` filled (no second decoding); None for another
    evaluator or without data."""
    if config.evaluator is not None or not config.data:
        return None
    from ..data.cache import load_raw_split
    from ..data.voc import VocDataset

    dataset = VocDataset(config.data, num_classes=config.network().classes)
    return load_raw_split(dataset, "val", config.network().input_size, config.val_fraction).digests


def check_target(config: SearchConfig, target: Target) -> None:
    """Every measurement target the search will open is ready (one per board port)."""
    for port in config.ports or [None]:
        target.on_port(port).check_ready()
