"""Input expansion, safe names and decoding of real files."""

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fcn8_ocr.read import InputError, Source, expand_inputs, read_pages, safe_name


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=4))
def test_safe_names_never_leave_the_output_folder(parts):
    name = safe_name("/".join(parts) + ".png")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert name and name not in ("..", ".")


def test_same_names_in_different_folders_do_not_collide(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(b"x")
    (tmp_path / "a" / "x.jpg").write_bytes(b"x")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "x.png").write_bytes(b"x")
    sources, errors = expand_inputs([str(tmp_path), str(tmp_path / "a" / "x.png")],
                                    exclude=[tmp_path / "labels"])
    names = [s.name for s in sources]
    assert not errors and len(names) == len(set(names)) == 3
    assert {"a__x", "b__x"} <= set(names)


def _with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    ifd = struct.pack("<H", 1) + struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
    tiff = b"II*\0" + struct.pack("<I", 8) + ifd
    app1 = b"Exif\0\0" + tiff
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return jpeg[:2] + segment + jpeg[2:]


def test_exif_orientation_is_honoured(tmp_path):
    image = np.full((100, 200), 200, np.uint8)
    image[:10, :20] = 0  # a dark corner to follow
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    path = tmp_path / "rotated.jpg"
    path.write_bytes(_with_exif_orientation(jpeg, 6))  # 6: rotate 90 degrees clockwise
    page = next(read_pages(Source(path, "rotated")))
    assert page.image.shape[:2] == (200, 100)
    grey = page.image if page.image.ndim == 2 else page.image[..., 0]
    assert grey[:20, -10:].mean() < 100  # the corner moved to the top right


@pytest.mark.parametrize("content, cause", [(b"", "empty"), (b"GIF89a....", "not a readable image")])
def test_unreadable_files_raise_one_line_errors(tmp_path, content, cause):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        list(read_pages(Source(path, "bad")))
    message = str(info.value)
    assert message.startswith(str(path)) and cause in message and "\n" not in message


def test_absurd_dimensions_are_refused(tmp_path):
    path = tmp_path / "sliver.png"
    cv2.imwrite(str(path), np.zeros((4, 3000), np.uint8))
    with pytest.raises(InputError, match="unusable dimensions 3000x4"):
        list(read_pages(Source(Path(path), "sliver")))
