"""mIoU from an accumulated confusion matrix, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fmas_hw.errors import DataError
from fmas_hw.eval.miou import ConfusionMatrix


def test_hand_case_three_classes_with_ignore():
    # truth      0 0 1 1 2 255      matrix (rows truth, cols prediction)
    # prediction 0 1 1 1 0 2          [[1, 1, 0],
    #                                  [0, 2, 0],
    #                                  [1, 0, 0]]
    # IoU0 = 1/(1+1+1) = 1/3, IoU1 = 2/(2+1+0) = 2/3, IoU2 = 0/(0+0+1) = 0; mIoU = 1/3
    cm = ConfusionMatrix(3).update(np.array([0, 0, 1, 1, 2, 255], np.uint8),
                                   np.array([0, 1, 1, 1, 0, 2]))
    np.testing.assert_array_equal(cm.matrix, [[1, 1, 0], [0, 2, 0], [1, 0, 0]])
    np.testing.assert_allclose(cm.iou(), [1 / 3, 2 / 3, 0.0])
    assert cm.miou() == pytest.approx(1 / 3)
    assert cm.error() == pytest.approx(2 / 3)
    assert cm.pixel_accuracy() == pytest.approx(3 / 5)  # the ignored pixel is not counted
    assert cm.total == 5


def test_classes_absent_from_truth_and_prediction_are_left_out():
    # classes 2 and 3 appear nowhere: IoU NaN, mean over classes 0 and 1 only = 1.0
    cm = ConfusionMatrix(4).update(np.array([[0, 0], [1, 255]]), np.array([[0, 0], [1, 3]]))
    iou = cm.iou()
    assert iou[:2].tolist() == [1.0, 1.0] and math.isnan(iou[2]) and math.isnan(iou[3])
    assert cm.miou() == 1.0 and cm.error() == 0.0


def test_class_only_predicted_counts_as_zero():
    # truth 0 0 0 1, prediction 0 0 2 1: IoU0 = 2/3, IoU1 = 1, IoU2 = 0/(0+1+0) = 0 -> 5/9
    cm = ConfusionMatrix(3).update(np.array([0, 0, 0, 1]), np.array([0, 0, 2, 1]))
    np.testing.assert_allclose(cm.iou(), [2 / 3, 1.0, 0.0])
    assert cm.miou() == pytest.approx(5 / 9)
    assert cm.pixel_accuracy() == pytest.approx(3 / 4)


def test_accumulation_is_over_pixels_not_a_mean_of_images():
    # image A: truth 0 0, pred 0 0; image B: truth 1 1 1 1, pred 1 1 1 0
    # pooled: row0 [2, 0], row1 [1, 3]: IoU0 = 2/3, IoU1 = 3/4 -> mIoU 17/24
    cm = ConfusionMatrix(2)
    cm.update(np.array([0, 0]), np.array([0, 0]))
    cm.update(np.array([1, 1, 1, 1]), np.array([1, 1, 1, 0]))
    assert cm.miou() == pytest.approx(17 / 24)


def test_merge_equals_updating_with_everything():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=(4, 8, 8))
    truth[:, 0] = 255
    pred = rng.integers(0, 5, size=(4, 8, 8))
    whole = ConfusionMatrix(5).update(truth, pred)
    a = ConfusionMatrix(5).update(truth[:2], pred[:2])
    b = ConfusionMatrix(5).update(truth[2:], pred[2:])
    np.testing.assert_array_equal((a + b).matrix, whole.matrix)
    np.testing.assert_array_equal(a.merge(b).matrix, whole.matrix)
    assert whole.total == 4 * 7 * 8
    assert a.total == 2 * 7 * 8  # merge leaves its inputs unchanged


def test_reset_and_custom_ignore_label():
    cm = ConfusionMatrix(2, ignore_label=9).update(np.array([0, 9, 1]), np.array([0, 0, 0]))
    np.testing.assert_array_equal(cm.matrix, [[1, 0], [1, 0]])
    cm.reset()
    assert cm.total == 0


@pytest.mark.parametrize("labels, preds, error, match", [
    (np.array([0, 1]), np.array([0, 1, 1]), ValueError, "same shape"),
    (np.array([0, 1]), np.array([0, 3]), ValueError, "predictions hold values \\[3\\]"),
    (np.array([0, 1]), np.array([-1, 0]), ValueError, "outside 0..2"),
    (np.array([0, 7]), np.array([0, 1]), DataError, "labels hold values \\[7\\]"),
], ids=["shape", "pred-high", "pred-negative", "label-high"])
def test_bad_inputs_are_rejected(labels, preds, error, match):
    cm = ConfusionMatrix(3)
    with pytest.raises(error, match=match):
        cm.update(labels, preds)
    assert cm.total == 0  # nothing half-counted


def test_ignored_pixels_are_not_counted_but_their_predictions_are_checked():
    cm = ConfusionMatrix(2).update(np.array([255, 0]), np.array([1, 0]))
    np.testing.assert_array_equal(cm.matrix, [[1, 0], [0, 0]])
    with pytest.raises(ValueError, match="outside"):
        cm.update(np.array([255, 0]), np.array([2, 0]))


def test_empty_matrix_and_mismatched_merge():
    with pytest.raises(ValueError, match="empty"):
        ConfusionMatrix(3).miou()
    with pytest.raises(ValueError, match="empty"):
        ConfusionMatrix(3).pixel_accuracy()
    with pytest.raises(ValueError, match="cannot merge"):
        ConfusionMatrix(3) + ConfusionMatrix(4)
