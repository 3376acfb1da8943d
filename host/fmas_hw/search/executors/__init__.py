"""Where a search's jobs run: the one executor interface (:mod:`.base`) with threads of this
process (:mod:`.threads`), spawned local processes (:mod:`.processes`) or the slots of a Dask
cluster (:mod:`.cluster`). The accuracy backends and the measurement service both submit to one."""

from .base import Executor, Finish

__all__ = ["Executor", "Finish"]
