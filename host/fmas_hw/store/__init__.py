"""The results store: one SQLite file per search, both its cache and its checkpoint (SPEC §5, §7).

The search writes ``meta``, ``evaluations`` and ``generations`` (:mod:`.search`); ``fmas-hw
finetune`` adds the ``finetune`` table on demand (:mod:`.finetune`), ``fmas-hw report --full-set``
the ``full_set`` table (:mod:`.full_set`); ``fmas-hw report`` reads them all. Every table goes
through one :class:`Store`, which owns the file's only connection and its single-writer lock
(:mod:`.database`)::

    with Store.open(path) as store:
        records = store.evaluations("ok")
        store.finetune.record(FinetuneRow(key, genome, "running"))
"""

from .finetune import FinetuneRow, FinetuneTable
from .full_set import FullSetRow, FullSetTable
from .latency import Gap8Fit, Latency
from .records import Evaluation, EvaluationRecord, GenerationRecord, Status
from .search import SCHEMA_VERSION, Store

__all__ = ["Store", "Evaluation", "EvaluationRecord", "GenerationRecord", "Latency", "Gap8Fit", "Status", "FinetuneRow",
           "FinetuneTable", "FullSetRow", "FullSetTable", "SCHEMA_VERSION"]
