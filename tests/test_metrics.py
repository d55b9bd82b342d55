import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fcn8_ocr.classes import BACKGROUND, IGNORE
from fcn8_ocr.metrics import confusion, format_table, scores


def test_hand_computed_case():
    truth = np.array([[1, 1, 10, 10], [2, 2, 10, IGNORE]], np.uint8)
    pred = np.array([[1, 10, 10, 10], [2, 1, 10, 3]], np.uint8)
    matrix = confusion(truth, pred)
    assert matrix.sum() == 7  # the IGNORE pixel is dropped
    result = scores(matrix)
    # class 1: tp 1, truth 2, pred 2 -> IoU 1/3, Dice 2/4
    assert result["classes"]["1"]["iou"] == pytest.approx(1 / 3)
    assert result["classes"]["1"]["dice"] == pytest.approx(0.5)
    # class 2: tp 1, truth 2, pred 1 -> IoU 1/2, Dice 2/3
    assert result["classes"]["2"]["iou"] == pytest.approx(0.5)
    assert result["classes"]["2"]["dice"] == pytest.approx(2 / 3)
    # background: tp 3, truth 3, pred 4 -> IoU 3/4
    assert result["background_iou"] == pytest.approx(3 / 4)
    # classes absent from truth and prediction have no score and stay out of the mean
    assert result["classes"]["5"]["iou"] is None
    # class 3 was predicted only on the ignored pixel, so it has no score either
    assert result["classes"]["3"]["iou"] is None
    assert result["mean_digit_iou"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert result["pixel_accuracy"] == pytest.approx(5 / 7)


def test_dataset_totals_not_mean_of_images():
    a_truth, a_pred = np.array([[1, 1, 1, 1]]), np.array([[1, 1, 1, 1]])
    b_truth, b_pred = np.array([[1, 10, 10, 10]]), np.array([[10, 10, 10, 10]])
    total = confusion(a_truth, a_pred) + confusion(b_truth, b_pred)
    assert scores(total)["classes"]["1"]["iou"] == pytest.approx(4 / 5)  # not (1 + 0) / 2


def test_empty_images_and_bad_input():
    empty = scores(confusion(np.full((3, 3), BACKGROUND), np.full((3, 3), BACKGROUND)))
    assert empty["mean_digit_iou"] is None and empty["background_iou"] == 1.0
    with pytest.raises(ValueError, match="shape"):
        confusion(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class ids"):
        confusion(np.full((2, 2), 12), np.zeros((2, 2)))
    assert "digits" in format_table(empty)


labels_strategy = arrays(np.uint8, (6, 7), elements=st.integers(0, 10))


@settings(max_examples=60, deadline=None)
@given(labels_strategy, labels_strategy)
def test_properties(truth, pred):
    result = scores(confusion(truth, pred))
    for row in result["classes"].values():
        if row["iou"] is not None:
            assert 0.0 <= row["iou"] <= row["dice"] <= 1.0
    perfect = scores(confusion(truth, truth))
    assert perfect["pixel_accuracy"] == 1.0
    assert all(r["iou"] in (None, 1.0) for r in perfect["classes"].values())
