"""Training: the supernet before a search, the chosen candidates after it (SPEC §3, §7).

- :mod:`.config` — the validated options of both commands (no TensorFlow).
- :mod:`.loops` — the epoch loop shared by both (:class:`~.loops.Trainer`: masked
  cross-entropy, a checkpoint per epoch, exact resume).
- :mod:`.supernet` — ``fmas-hw train``: train a supernet, write weights and their manifest.
- :mod:`.finetune` — ``fmas-hw finetune``: fine-tune the final front's candidates and record
  them in the store's ``finetune`` table.

Sub-modules are imported explicitly so that importing this package does not import TensorFlow.
"""
