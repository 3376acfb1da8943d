"""NSGA-II search over a supernet's sub-networks (SPEC §5).

Python API (usable from a notebook)::

    from fmas_hw.search import SearchConfig, run
    result = run(SearchConfig(backbone="mobilenetv2", objectives=("latency",), population=12))
    result.front          # final feasible Pareto front
    run(config, resume=result.store_path)   # continue / extend a search

Modules: ``config`` (the configuration), ``settings`` (what decides a score besides the
architecture), ``evaluation`` (the evaluator interface), ``supernet_evaluator`` (the built-in one),
``constraints``, ``problem`` (genome -> objectives), ``operators`` (NSGA-II set-up),
``indicators`` (front, hypervolume), ``worker`` / ``backends`` (where candidates are evaluated),
``measure/`` (what gets measured and when, and the measurement workers), ``session`` (set-up,
store, resume), ``stored_config``, ``loop`` (the ask/tell loop), ``ga`` (the only code touching
pymoo's NSGA-II), ``progress`` and ``result``.
"""

from ..store import Evaluation
from .config import SearchConfig
from .evaluation import CandidateEvaluator, evaluate_candidate, make_evaluator
from .result import SearchResult
from .session import run
from .settings import EvalSettings
from .stored_config import stored_config

__all__ = [
    "SearchConfig", "SearchResult", "run", "stored_config", "EvalSettings", "Evaluation",
    "CandidateEvaluator", "evaluate_candidate", "make_evaluator",
]
