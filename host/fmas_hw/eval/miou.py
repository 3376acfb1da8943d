"""Mean intersection-over-union from an accumulated confusion matrix (SPEC §4).

The metric of the PASCAL VOC devkit: pixels labelled with the ignore label are excluded, the
confusion matrix is accumulated over the whole evaluation set (not averaged per image), and per
class ``IoU = TP / (TP + FP + FN)``. Classes with a zero denominator — absent from both the
ground truth and the predictions — are left out of the mean. The search minimises
``error = 1 - mIoU``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError

IGNORE_LABEL = 255


class ConfusionMatrix:
    """An accumulating ``num_classes x num_classes`` confusion matrix.

    ``matrix[t, p]`` counts pixels of ground-truth class ``t`` predicted as ``p``.

    Args:
        num_classes: number of classes (21 for PASCAL VOC).
        ignore_label: ground-truth value excluded from the counts.
    """

    def __init__(self, num_classes: int, ignore_label: int = IGNORE_LABEL) -> None:
        if num_classes < 1:
            raise ValueError(f"num_classes={num_classes}: expected at least 1")
        self.num_classes = num_classes
        self.ignore_label = ignore_label
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def __repr__(self) -> str:
        return (f"ConfusionMatrix(num_classes={self.num_classes}, pixels={self.total}, "
                f"miou={self.miou() if self.total else float('nan'):.4f})")

    @property
    def total(self) -> int:
        """Number of pixels counted so far."""
        return int(self.matrix.sum())

    def reset(self) -> None:
        """Set every count back to zero."""
        self.matrix[:] = 0

    def update(self, labels: np.ndarray, predictions: np.ndarray) -> ConfusionMatrix:
        """Add a batch of ground truth and predicted class indices.

        Args:
            labels: integer array of any shape; values in ``0..num_classes-1`` or the ignore label.
            predictions: integer array of the same shape; values in ``0..num_classes-1``.

        Returns:
            ``self``, to allow chaining.

        Raises:
            ValueError: shapes differ, or a prediction is out of range (a model/argmax bug).
            DataError: a ground-truth label is out of range (wrong ``num_classes`` for the data).
        """
        labels, predictions = np.asarray(labels), np.asarray(predictions)
        if labels.shape != predictions.shape:
            raise ValueError(f"labels {labels.shape} and predictions {predictions.shape} must "
                             "have the same shape")
        k = self.num_classes
        # every prediction is checked, ignored pixels too: out-of-range values mean a model bug
        if predictions.size and (predictions.min() < 0 or predictions.max() >= k):
            raise ValueError(f"predictions hold values {_out_of_range(predictions, k)} outside "
                             f"0..{k - 1}")
        keep = labels != self.ignore_label
        truth = labels[keep].astype(np.int64)
        pred = predictions[keep].astype(np.int64)
        if truth.size and (truth.min() < 0 or truth.max() >= k):
            raise DataError(f"labels hold values {_out_of_range(truth, k)} outside 0..{k - 1} "
                            f"and not the ignore label {self.ignore_label}: pass the data set's "
                            "number of classes")
        self.matrix += np.bincount(truth * k + pred, minlength=k * k).reshape(k, k)
        return self

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        """A new matrix holding the counts of both (e.g. from two workers).

        Raises:
            ValueError: the matrices differ in classes or ignore label.
        """
        if (other.num_classes, other.ignore_label) != (self.num_classes, self.ignore_label):
            raise ValueError(f"cannot merge a {other.num_classes}-class matrix (ignore "
                             f"{other.ignore_label}) into a {self.num_classes}-class one "
                             f"(ignore {self.ignore_label})")
        merged = ConfusionMatrix(self.num_classes, self.ignore_label)
        merged.matrix = self.matrix + other.matrix
        return merged

    __add__ = merge

    def iou(self) -> np.ndarray:
        """Per-class IoU, float (num_classes,); NaN for a class absent from truth and predictions."""
        tp = np.diag(self.matrix).astype(np.float64)
        denominator = self.matrix.sum(axis=0) + self.matrix.sum(axis=1) - tp
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(denominator > 0, tp / denominator, np.nan)

    def miou(self) -> float:
        """Mean IoU over the classes present in the ground truth or the predictions.

        Raises:
            ValueError: no pixel has been counted yet.
        """
        if self.total == 0:
            raise ValueError("the confusion matrix is empty: update() it with at least one "
                             "non-ignored pixel before asking for the mIoU")
        return float(np.nanmean(self.iou()))

    def error(self) -> float:
        """``1 - mIoU``: the accuracy objective the search minimises."""
        return 1.0 - self.miou()

    def pixel_accuracy(self) -> float:
        """Fraction of counted pixels predicted correctly.

        Raises:
            ValueError: no pixel has been counted yet.
        """
        if self.total == 0:
            raise ValueError("the confusion matrix is empty: no pixel accuracy yet")
        return float(np.trace(self.matrix) / self.total)


def _out_of_range(values: np.ndarray, k: int) -> list[int]:
    bad = np.unique(values[(values < 0) | (values >= k)])
    return bad[:10].tolist()
