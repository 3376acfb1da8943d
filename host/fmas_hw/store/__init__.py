"""The results store: one SQLite file per search, both its cache and its checkpoint (SPEC §5, §7).

The search writes ``meta``, ``evaluations`` and ``generations`` (:mod:`.search`); ``fmas-hw
finetune`` adds the ``finetune`` table on demand (:mod:`.finetune`); ``fmas-hw report`` reads them
all.
"""

from .finetune import FinetuneRow
from .search import SCHEMA_VERSION, EvaluationRecord, GenerationRecord, Store

__all__ = ["Store", "EvaluationRecord", "GenerationRecord", "FinetuneRow", "SCHEMA_VERSION"]
