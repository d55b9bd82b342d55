"""String and box scorers on hand-made cases, and `fcn8-ocr evaluate` on string-labelled
and COCO-labelled folders through a real onnxruntime session (the rule model: every
stroke is a 3)."""

import csv
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from fcn8_ocr.cli import main
from fcn8_ocr.read import InputError
from fcn8_ocr.scoring import BoxScore, StringScore, edit_distance, match_boxes
from fcn8_ocr.truth import data_kind, fingerprint, read_coco, read_string_labels


@pytest.mark.parametrize("a, b, d", [("", "", 0), ("12", "", 2), ("", "7", 1), ("123", "123", 0),
                                     ("123", "13", 1), ("123", "1234", 1), ("12", "21", 2)])
def test_edit_distance(a, b, d):
    assert edit_distance(a, b) == d


def test_string_score_counts_empty_extra_missing_and_non_digit_labels():
    score = StringScore()
    score.add("a.png", "12", "12")    # right
    score.add("b.png", "7", "")       # empty page
    score.add("c.png", "45", "459")   # an extra region
    score.add("d.png", "308", "38")   # a missing region
    score.add("e.png", "4a", "4")     # not digits only: counted apart
    score.add("f.png", "-", "")
    report = score.report()
    assert report["images"] == 4 and report["non_digit_labels"] == 2
    assert report["string_accuracy"] == 0.25
    assert report["count_accuracy"] == 0.25
    assert report["cer"] == round((0 + 1 + 1 + 1) / (2 + 1 + 2 + 3), 6)
    assert report["by_length"] == {"1": {"images": 1, "string_accuracy": 0.0},
                                   "2": {"images": 2, "string_accuracy": 0.5},
                                   "3": {"images": 1, "string_accuracy": 0.0}}
    assert report["worst"][0] == {"image": "b.png", "expected": "7", "got": "", "edits": 1}
    assert {c["image"] for c in report["worst"]} == {"b.png", "c.png", "d.png"}


def test_an_empty_score_reports_no_rates():
    report = StringScore().report()
    assert report["images"] == 0 and report["string_accuracy"] is None and report["cer"] is None


def test_boxes_match_by_iou_or_by_centre_inside_one_to_one():
    truth = [(10, 10, 20, 30), (40, 10, 20, 30)]
    found = [(11, 11, 19, 29),    # IoU > 0.5 with the first
             (45, 0, 8, 60),      # IoU < 0.5, but its centre lies in the second (loose box)
             (12, 12, 10, 10)]    # centre inside the first too, but it is taken
    assert match_boxes(found, truth) == [(0, 0), (1, 1)]
    assert match_boxes([(100, 100, 5, 5)], truth) == []


def test_box_score_recall_precision_and_class_accuracy():
    score = BoxScore()
    truth = [(1, (10, 10, 20, 30)), (2, (40, 10, 20, 30))]
    score.add("a.png", [(1, (10, 10, 20, 30)), (7, (40, 10, 20, 30)), (5, (90, 10, 5, 5))],
              truth, "12", "175")
    score.add("b.png", [], [(4, (0, 0, 10, 10))], "4", "")
    report = score.report()
    assert report["recall"] == round(2 / 3, 6) and report["precision"] == round(2 / 3, 6)
    assert report["class_accuracy"] == 0.5
    assert report["string_accuracy"] == 0.0


def strokes_page(path, count: int) -> list:
    """A light page with `count` separate digit-sized dark strokes; returns their boxes."""
    page = np.full((80, 60 + 40 * count), 235, np.uint8)
    boxes = []
    for k in range(count):
        x = 30 + 40 * k
        cv2.rectangle(page, (x, 20), (x + 5, 55), 20, -1)
        boxes.append([x, 20, 6, 36])
    cv2.imwrite(str(path), page)
    return boxes


def test_evaluate_string_labels(tmp_path, rule_model):
    rows = [("three.png", "333", 3), ("two.png", "33", 3), ("one.png", "3", 1),
            ("note.png", "3a", 1)]
    for name, _, count in rows:
        strokes_page(tmp_path / name, count)
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([("filename", "label")] + [r[:2] for r in rows])
    assert data_kind(tmp_path) == "strings"
    result = CliRunner().invoke(main, ["evaluate", "--model", str(rule_model), "--data",
                                       str(tmp_path), "--digit-height", "36", "--out",
                                       str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["images"] == 3 and report["non_digit_labels"] == 1
    assert report["string_accuracy"] == round(2 / 3, 6)
    assert report["worst"] == [{"image": "two.png", "expected": "33", "got": "333", "edits": 1}]
    assert "string_accuracy: 0.667" in result.output


def test_evaluate_coco_boxes(tmp_path, rule_model):
    (tmp_path / "images").mkdir()
    (tmp_path / "annotations").mkdir()
    boxes = strokes_page(tmp_path / "images" / "page.png", 3)
    coco = {"images": [{"id": 1, "file_name": "page.png", "width": 180, "height": 80}],
            "categories": [{"id": 1, "name": "3"}, {"id": 2, "name": "5"},
                           {"id": 3, "name": "signature"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": boxes[0]},
                            {"id": 2, "image_id": 1, "category_id": 2, "bbox": boxes[1]},
                            {"id": 3, "image_id": 1, "category_id": 3, "bbox": [0, 0, 9, 9]}]}
    (tmp_path / "annotations" / "instances_test.json").write_text(json.dumps(coco))
    assert data_kind(tmp_path) == "boxes"
    assert [d for d, _ in read_coco(tmp_path)[0][1]] == [3, 5]
    result = CliRunner().invoke(main, ["evaluate", "--model", str(rule_model), "--data",
                                       str(tmp_path), "--digit-height", "36", "--out",
                                       str(tmp_path / "eval")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["recall"] == 1.0 and report["precision"] == round(2 / 3, 6)
    assert report["class_accuracy"] == 0.5 and report["string_accuracy"] == 0.0


def test_malformed_string_labels_name_the_file(tmp_path, rule_model):
    (tmp_path / "labels.csv").write_text("name,text\nx.png,1\n")
    with pytest.raises(InputError, match="labels.csv: first row must be the header"):
        read_string_labels(tmp_path)
    result = CliRunner().invoke(main, ["evaluate", "--model", str(rule_model), "--data",
                                       str(tmp_path)])
    assert result.exit_code == 1
    assert "labels.csv: first row must be the header" in result.output


def test_missing_images_are_reported_not_scored(tmp_path, rule_model):
    strokes_page(tmp_path / "one.png", 1)
    (tmp_path / "labels.csv").write_text("filename,label\none.png,3\ngone.png,3\n")
    result = CliRunner().invoke(main, ["evaluate", "--model", str(rule_model), "--data",
                                       str(tmp_path), "--digit-height", "36"])
    assert result.exit_code == 1
    assert "gone.png: cannot read" in result.output
    assert "string_accuracy: 1.000" in result.output


def test_evaluate_names_the_drawing_of_the_set_it_scored(tmp_path, rule_model):
    """metrics.json and the printout carry a fingerprint of the data folder: the same
    files give the same one (the reports written into the folder do not count), a changed
    label gives another, so figures from two drawings of a set are told apart."""
    for name, count in (("one.png", 1), ("two.png", 2)):
        strokes_page(tmp_path / name, count)
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\none.png,3\ntwo.png,33\n")

    def run() -> tuple[str, str]:
        result = CliRunner().invoke(main, ["evaluate", "--model", str(rule_model), "--data",
                                           str(tmp_path), "--digit-height", "36", "--out",
                                           str(tmp_path / "eval")])
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / "eval" / "metrics.json").read_text())["fingerprint"], \
            result.output

    first, output = run()
    assert len(first) == 12 and f"(fingerprint {first})" in output
    assert run()[0] == first == fingerprint(tmp_path)
    labels.write_text("filename,label\none.png,3\ntwo.png,38\n")
    assert run()[0] != first


def test_evaluate_tells_whether_the_models_own_figure_was_on_the_same_drawing(tmp_path):
    """A set drawn again (same folder name, other files) is not the set the model's metadata
    figure was measured on: evaluate says so; on the same drawing it gives the figure."""
    from fcn8_ocr.evaluate import recorded_figures
    from fcn8_ocr.models import DEFAULT_MODEL

    data = tmp_path / "field-test"  # the name of a set in the bundled model's metrics
    data.mkdir()
    for name, count in (("one.png", 1), ("two.png", 2)):
        strokes_page(data / name, count)
    (data / "labels.csv").write_text("filename,label\none.png,3\ntwo.png,33\n")
    result = CliRunner().invoke(main, ["evaluate", "--model", str(DEFAULT_MODEL), "--data",
                                       str(data)])
    assert result.exit_code == 0, result.output
    assert "note: the model's metadata field_test" in result.output
    assert "not comparable" in result.output

    own = {"field_test": {"data": "data/field-test", "fingerprint": fingerprint(data),
                          "string_accuracy": 0.5, "images": 2},
           "m2nist_test": {"data": "data/m2nist-test", "fingerprint": "0" * 12}}
    recorded = recorded_figures(own, data, fingerprint(data))
    assert recorded["same_drawing"] and recorded["string_accuracy"] == 0.5
    assert recorded_figures(own, tmp_path / "other-set", "1" * 12) is None
    assert recorded_figures(None, data, fingerprint(data)) is None
