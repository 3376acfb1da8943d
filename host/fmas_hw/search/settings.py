"""The evaluation settings: everything besides the architecture that decides a candidate's scores.

The second half of every store key (:attr:`EvalSettings.digest`): a stored score is reused only
for the same architecture under the same settings.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class EvalSettings:
    """Everything besides the architecture that decides a candidate's scores.

    Two evaluations may share a store row only if both the architecture key and
    :attr:`digest` agree.

    Attributes:
        backbone: 'xception' or 'mobilenetv2'.
        data: absolute path of the VOC-format data set, or None.
        val_fraction: leading fraction of ``val.txt`` used for accuracy.
        weights_hash: SHA-256 prefix of the supernet weight file, or None.
        input_size: square input size in pixels.
        target: latency measurement target ('estimate', 'gvsoc', 'board').
        target_identity: what decides that target's figures (:meth:`Target.identity
            <fmas_hw.targets.base.Target.identity>`: the cycle model's digest, the SDK's versions).
        evaluator: the evaluator factory ("module:callable") that produced the numbers; empty for
            the built-in supernet evaluator.
    """

    backbone: str
    data: str | None
    val_fraction: float
    weights_hash: str | None
    input_size: int
    target: str
    target_identity: str = ""
    evaluator: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (round-trips through ``EvalSettings(**d)``)."""
        return asdict(self)

    @property
    def digest(self) -> str:
        """16 hex digits identifying these settings (the second half of the store key)."""
        blob = json.dumps(self.to_dict(), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
