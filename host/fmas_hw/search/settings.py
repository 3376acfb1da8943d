"""The evaluation settings: everything besides the architecture that decides a candidate's scores.

The second half of every store key (:attr:`EvalSettings.digest`): a stored score is reused only
for the same architecture under the same settings.

The settings also name the validation data a search scored on (:attr:`EvalSettings.data_digest`:
digests of the subset's id list and of its images' and masks' bytes), so that a resumed search
refuses data that changed under the same path. That field is kept out of the key's digest: a
store written before it existed keeps its keys, and records the field when it is resumed.
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
        data_digest: ``{"ids", "images", "masks"}`` digests of the validation subset scored on
            (:attr:`fmas_hw.data.cache.RawSplit.digests`); None when not known (another
            evaluator, no data). Not part of :attr:`digest`.
    """

    backbone: str
    data: str | None
    val_fraction: float
    weights_hash: str | None
    input_size: int
    target: str
    target_identity: str = ""
    evaluator: str = ""
    data_digest: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (round-trips through ``EvalSettings(**d)``)."""
        return asdict(self)

    @property
    def digest(self) -> str:
        """16 hex digits identifying these settings (the second half of the store key)."""
        blob = json.dumps({k: v for k, v in self.to_dict().items() if k != "data_digest"}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


#: What each part of :attr:`EvalSettings.data_digest` covers, for messages.
DATA_PARTS = {"ids": "the subset's ids (val.txt reordered or edited)", "images": "its images' bytes",
              "masks": "its masks' bytes"}


def data_changes(stored: dict[str, str] | None, now: dict[str, str] | None) -> list[str]:
    """What differs between two data digests, in words (empty when either is unknown)."""
    if not stored or not now:
        return []
    return [DATA_PARTS.get(k, k) for k in sorted(set(stored) | set(now)) if stored.get(k) != now.get(k)]
