"""What a search checks before it creates its store.

The built-in evaluator needs weights: a randomly initialised supernet scores every candidate
near error 1.0, so a search without them runs only when ``random_init`` asks for it explicitly
(and the store then records it). Another evaluator (a plug-in, a test's fake) may need none.
"""

from __future__ import annotations

from ..errors import ConfigError
from .config import SearchConfig

_NO_WEIGHTS = ("the search has no --weights: a randomly initialised supernet scores every candidate near "
               "error 1.0, so the front would say nothing about accuracy. Pass --weights FILE (e.g. "
               "models/supernets/mobilenetv2_synth8_96.h5), or --random-init to search on random weights "
               "anyway (the store and its report are labelled so)")


def check_ready(config: SearchConfig) -> None:
    """Check a resolved config before the search starts.

    Raises:
        ConfigError: no weights and no ``random_init`` (or both) for the built-in evaluator.
    """
    if config.evaluator is None:
        check_weights(config)


def check_weights(config: SearchConfig) -> None:
    """The weights are given, or random initialisation asked for."""
    if config.weights is None and not config.random_init:
        raise ConfigError(_NO_WEIGHTS)
    if config.weights is not None and config.random_init:
        raise ConfigError("random_init and weights contradict each other: give one of them "
                          "(drop --random-init to search with the weights)")
