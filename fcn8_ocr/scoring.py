"""What a user sees, scored: digit strings against string labels, digit regions against
labelled digit boxes (numpy only).

* `StringScore`: string accuracy (the page's digits in reading order equal the label),
  digit-count accuracy, character error rate (edit distance / label length), a breakdown
  by label length, and the worst cases. Labels holding anything but digits are counted
  apart: the tool reads digits only.
* `BoxScore`: region recall and precision against digit boxes (a region matches a box at
  box IoU >= 0.5, or when its centre falls inside the box, since hand-drawn boxes are
  loose), class accuracy of matched regions, string accuracy of the boxes read left to
  right per line.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

Box = tuple[float, float, float, float]  # x, y, w, h
WORST_KEPT = 50


def is_digit_string(label: str) -> bool:
    """True for a label the tool can read: the ASCII digits 0-9 only."""
    return label.isascii() and label.isdigit()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions) between two strings."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _rate(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


@dataclass
class StringScore:
    """Accumulates (image, expected, got) string results; `report()` sums them up."""

    images: int = 0
    correct: int = 0
    count_correct: int = 0
    edits: int = 0
    label_chars: int = 0
    non_digit: int = 0
    by_length: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    cases: list = field(default_factory=list)

    def add(self, image: str, expected: str, got: str) -> None:
        """Score one image whose label is `expected` and whose digits read `got`."""
        if not is_digit_string(expected):
            self.non_digit += 1
            return
        distance = edit_distance(expected, got)
        self.images += 1
        self.correct += got == expected
        self.count_correct += len(got) == len(expected)
        self.edits += distance
        self.label_chars += len(expected)
        tally = self.by_length[len(expected)]
        tally[0] += 1
        tally[1] += got == expected
        if got != expected:
            self.cases.append({"image": image, "expected": expected, "got": got,
                               "edits": distance})

    def report(self) -> dict:
        worst = sorted(self.cases, key=lambda c: (-c["edits"] / len(c["expected"]), c["image"]))
        return {
            "images": self.images,
            "string_accuracy": _rate(self.correct, self.images),
            "count_accuracy": _rate(self.count_correct, self.images),
            "cer": _rate(self.edits, self.label_chars),
            "by_length": {str(n): {"images": t[0], "string_accuracy": _rate(t[1], t[0])}
                          for n, t in sorted(self.by_length.items())},
            "non_digit_labels": self.non_digit,
            "worst": worst[:WORST_KEPT],
        }


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _centre_inside(region: Box, box: Box) -> bool:
    cx, cy = region[0] + region[2] / 2, region[1] + region[3] / 2
    return box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]


def match_boxes(found: list[Box], truth: list[Box], min_iou: float = 0.5
                ) -> list[tuple[int, int]]:
    """One-to-one (found index, truth index) pairs: a pair matches at IoU >= `min_iou` or
    when the found box's centre lies inside the true box; the best IoU pairs go first."""
    candidates = []
    for i, f in enumerate(found):
        for j, t in enumerate(truth):
            iou = box_iou(f, t)
            if iou >= min_iou or _centre_inside(f, t):
                candidates.append((-iou, i, j))
    pairs, used_found, used_truth = [], set(), set()
    for _, i, j in sorted(candidates):
        if i not in used_found and j not in used_truth:
            pairs.append((i, j))
            used_found.add(i)
            used_truth.add(j)
    return sorted(pairs)


@dataclass
class BoxScore:
    """Accumulates per-image region/box matches; `report()` sums them up."""

    images: int = 0
    found: int = 0
    truth: int = 0
    matched: int = 0
    class_correct: int = 0
    strings: StringScore = field(default_factory=StringScore)

    def add(self, image: str, found: list[tuple[int, Box]], truth: list[tuple[int, Box]],
            expected: str, got: str) -> None:
        """`found` / `truth`: (digit, box) pairs; `expected` / `got`: the strings read."""
        pairs = match_boxes([b for _, b in found], [b for _, b in truth])
        self.images += 1
        self.found += len(found)
        self.truth += len(truth)
        self.matched += len(pairs)
        self.class_correct += sum(found[i][0] == truth[j][0] for i, j in pairs)
        if expected:
            self.strings.add(image, expected, got)

    def report(self) -> dict:
        strings = self.strings.report()
        return {
            "images": self.images,
            "regions": self.found,
            "boxes": self.truth,
            "recall": _rate(self.matched, self.truth),
            "precision": _rate(self.matched, self.found),
            "class_accuracy": _rate(self.class_correct, self.matched),
            "string_accuracy": strings["string_accuracy"],
            "worst": strings["worst"],
        }


def format_strings(report: dict) -> str:
    """Plain-text summary of a string or box report."""

    def fmt(x: float | None) -> str:
        return "  -  " if x is None else f"{x:.3f}"

    lines = [f"images: {report['images']}"]
    for key in ("string_accuracy", "count_accuracy", "cer", "recall", "precision",
                "class_accuracy"):
        if key in report:
            lines.append(f"{key:>16}: {fmt(report[key])}")
    for length, row in report.get("by_length", {}).items():
        lines.append(f"{'length ' + length:>16}: {fmt(row['string_accuracy'])} "
                     f"({row['images']} images)")
    if report.get("non_digit_labels"):
        lines.append(f"non-digit labels (not scored): {report['non_digit_labels']}")
    worst = report.get("worst", [])[:5]
    for case in worst:
        lines.append(f"  {case['image']}: expected {case['expected']!r}, got {case['got']!r}")
    return "\n".join(lines)

