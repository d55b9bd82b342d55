"""Read pages: files, folders (recursive) and glob patterns; images, multi-page TIFF,
PDF (optional pypdfium2), M2NIST `.npy`; and ground-truth label masks."""

from __future__ import annotations

import glob
import hashlib
import os
import re
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .classes import BACKGROUND, IGNORE

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
PAGE_SUFFIXES = IMAGE_SUFFIXES | {".pdf", ".npy"}
MAX_PIXELS = 400_000_000  # larger than an A0 scan at 600 dpi


class InputError(Exception):
    """A page source that cannot be read; str() is a one-line reason naming the file."""

    def __init__(self, path: Path | str, cause: str) -> None:
        super().__init__(f"{path}: {cause}")
        self.path = str(path)
        self.cause = cause


@dataclass(frozen=True)
class Source:
    """One input file and the unique, filesystem-safe name its outputs are derived from."""

    path: Path
    name: str


@dataclass
class Page:
    """One decoded page (BGR, grey or BGRA; 8 or 16 bit) and, when known, its label map."""

    source: Path
    name: str
    number: int
    image: np.ndarray
    labels: np.ndarray | None = None


MAX_NAME = 120  # bytes: a page name plus crop suffix and temporary prefix stays under 255


def safe_name(relative: str) -> str:
    """A file-name stem from a relative path: separators become '__', no traversal; a name
    longer than MAX_NAME keeps its start and ends in a stable hash of the whole."""
    parts = [p for p in Path(relative).with_suffix("").parts if p not in ("", ".", "..", "/")]
    name = "__".join(re.sub(r"[^A-Za-z0-9._-]", "_", p) for p in parts).lstrip(".") or "page"
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(relative.encode("utf-8", "surrogateescape")).hexdigest()[:12]
        name = f"{name[: MAX_NAME - 13]}~{digest}"
    return name


MULTI_PAGE = {".tif", ".tiff", ".pdf", ".npy"}
PAGE_NUMBERED = re.compile(r"(.+)_(p\d{3}|\d{5})")  # names read_pages gives pages of a file


def expand_inputs(inputs: list[str], exclude: list[Path] | None = None
                  ) -> tuple[list[Source], list[InputError]]:
    """Page files named by `inputs` (files, folders searched recursively, globs), sorted,
    each once, with collision-free names; plus errors for inputs that match nothing.

    Files under an `exclude` folder (the ground-truth labels) are never pages."""
    skip = [p.resolve() for p in exclude or []]
    found: dict[Path, str] = {}
    errors: list[InputError] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            entries = sorted(path.rglob("*"))
            errors += [InputError(p, "broken symbolic link") for p in entries
                       if p.is_symlink() and not p.exists()]
            matches = [(p, p.relative_to(path).as_posix()) for p in entries
                       if p.is_file() and p.suffix.lower() in PAGE_SUFFIXES
                       and p.name != "segmented.npy"]
            if not matches:
                errors.append(InputError(item, "folder holds no page files (" +
                                         ", ".join(sorted(PAGE_SUFFIXES)) + ")"))
        elif path.exists():
            matches = [(path, path.name)]
        else:
            matches = [(Path(p), Path(p).name) for p in sorted(glob.glob(item, recursive=True))
                       if Path(p).is_file()]
            if not matches:
                errors.append(InputError(item, "no such file, folder or matching pattern"))
        for p, relative in matches:
            resolved = p.resolve()
            if not any(resolved.is_relative_to(folder) for folder in skip):
                found.setdefault(resolved, relative)
    sources, used = [], set()
    for path, relative in sorted(found.items(), key=lambda kv: (kv[1], str(kv[0]))):
        name = safe_name(relative)
        if name in used:
            name = safe_name(relative.replace(".", "_"))
        base, n = name, 2
        while name in used:
            name, n = f"{base}~{n}", n + 1
        used.add(name)
        sources.append(Source(path, name))
    # a file named like a page of a multi-page file ("scan_p001.jpg" beside "scan.tif")
    # takes another name, so no two pages share one
    containers = {s.name for s in sources if s.path.suffix.lower() in MULTI_PAGE}
    for i, source in enumerate(sources):
        match = PAGE_NUMBERED.fullmatch(source.name)
        if match and match[1] in containers:
            n = 2
            while f"{source.name}~{n}" in used:
                n += 1
            used.add(f"{source.name}~{n}")
            sources[i] = Source(source.path, f"{source.name}~{n}")
    return sources, errors


_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG or JPEG header, read before anything is decoded (a small
    file can claim a huge image); None for other formats or an unreadable header."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in _JPEG_SOF:
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length field
            at += 2
            continue
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return None


def tiff_pages(data: bytes) -> tuple[int, bool] | None:
    """(pages listed, whether the list breaks off) from a classic TIFF's chain of image
    directories; None for other files (and BigTIFF)."""
    if data[:4] not in (b"II*\x00", b"MM\x00*") or len(data) < 8:
        return None
    order = "<" if data[:2] == b"II" else ">"
    offset, pages, seen = struct.unpack(order + "I", data[4:8])[0], 0, set()
    while offset:
        if offset in seen or offset + 2 > len(data):
            return pages, True
        seen.add(offset)
        entries = struct.unpack(order + "H", data[offset : offset + 2])[0]
        link = offset + 2 + 12 * entries
        if link + 4 > len(data):
            return pages, True
        pages += 1
        offset = struct.unpack(order + "I", data[link : link + 4])[0]
    return pages, False


_STDERR_LOCK = threading.Lock()


@contextmanager
def opencv_errors() -> Iterator[list[str]]:
    """Collect the error lines OpenCV's decoders print during the block (libtiff reports a
    damaged page there and still returns pixels). OpenCV writes them to file descriptor 2,
    which is borrowed for the time; anything else written there meanwhile is passed on."""
    found: list[str] = []
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        level = cv2.utils.logging.getLogLevel()
        os.dup2(sink.fileno(), 2)
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            yield found
        finally:
            cv2.utils.logging.setLogLevel(level)
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", "replace").splitlines():
                if "grfmt_" in line or "TIFF" in line:
                    found.append(line.split("TIFF_Error", 1)[-1].strip() or line.strip())
                else:
                    print(line, file=sys.stderr)


def _decode_tiff(buf: np.ndarray, flags: int) -> tuple[list[np.ndarray], dict[int, str]]:
    """Every page of a TIFF, and {page number: libtiff's complaint} for the pages that do
    not decode cleanly (libtiff still returns their garbage pixels)."""
    with opencv_errors() as errors:
        ok, pages = cv2.imdecodemulti(buf, flags)
    pages = list(pages) if ok else []
    damaged = {}
    if errors:
        for n in range(1, len(pages) + 1):
            with opencv_errors() as page_errors:
                cv2.imdecodemulti(buf, flags, None, (n - 1, n))
            if page_errors:
                damaged[n] = page_errors[0]
        if not damaged:
            damaged[0] = errors[0]
    return pages, damaged


def _decode(path: Path, data: bytes) -> tuple[list[np.ndarray], dict[int, str]]:
    """The decoded pages, and the TIFF pages that did not decode cleanly (`_decode_tiff`)."""
    buf = np.frombuffer(data, np.uint8)
    flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR  # EXIF orientation is applied
    if path.suffix.lower() in (".tif", ".tiff"):
        return _decode_tiff(buf, flags)
    if _has_alpha(data):
        raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if raw is not None and raw.ndim == 3 and raw.shape[2] == 4:
            return [_flatten_alpha(raw)], {}
    image = cv2.imdecode(buf, flags)
    return ([] if image is None else [image]), {}


def _check_size(name: Path | str, image: np.ndarray) -> None:
    """Raise InputError for a page under 8 px a side or over the pixel limit."""
    h, w = image.shape[:2]
    if h * w > MAX_PIXELS or min(h, w) < 8:
        raise InputError(name, f"unusable dimensions {w}x{h}")


def _has_alpha(data: bytes) -> bool:
    """PNG colour types 4/6 or a WebP with an alpha flag (read from the header only)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 25:
        return data[25] in (4, 6)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8X" and len(data) > 20:
        return bool(data[20] & 0x10)
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] == b"VP8L"


def _flatten_alpha(bgra: np.ndarray) -> np.ndarray:
    """Composite a BGRA image onto white paper."""
    top = np.iinfo(bgra.dtype).max
    alpha = bgra[..., 3:4].astype(np.float32) / top
    bgr = bgra[..., :3].astype(np.float32) * alpha + top * (1 - alpha)
    return bgr.astype(bgra.dtype)


def _read_pdf(path: Path, dpi: float) -> Iterator[np.ndarray]:
    try:
        import pypdfium2 as pdfium
    except ImportError as exc:
        raise InputError(path, "PDF support needs pypdfium2: pip install 'fcn8-ocr[pdf]'") from exc
    try:
        document = pdfium.PdfDocument(str(path))
    except Exception as exc:  # pdfium raises its own error types
        raise InputError(path, f"cannot open PDF ({exc})") from exc
    try:
        for index in range(len(document)):
            page = document[index]
            width, height = (round(v * dpi / 72.0) for v in page.get_size())
            if width * height > MAX_PIXELS:
                raise InputError(path, f"page {index + 1} would be {width}x{height} px at {dpi:g} "
                                       "dpi, over the pixel limit: use a lower --dpi")
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            yield np.array(bitmap.to_numpy()[..., 0] if bitmap.to_numpy().ndim == 3
                           else bitmap.to_numpy())
    finally:
        document.close()


def _read_npy(path: Path) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    try:
        images = np.load(path, mmap_mode="r")
    except Exception as exc:
        raise InputError(path, f"not a readable .npy array ({exc})") from exc
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3:
        raise InputError(path, f"expected images (N,H,W), got shape {images.shape}")
    masks = None
    segmented = path.with_name("segmented.npy")
    if segmented.is_file():
        try:
            masks = np.load(segmented, mmap_mode="r")
        except Exception as exc:
            raise InputError(segmented, f"not a readable .npy array ({exc})") from exc
        one_hot = masks.ndim == 4 and masks.shape[:3] == images.shape and masks.shape[3] == 11
        if not one_hot and masks.shape != images.shape:
            raise InputError(segmented, f"shape {masks.shape} matches neither {images.shape} "
                                        f"(class ids) nor {(*images.shape, 11)} (one-hot)")
    for i in range(len(images)):
        image = np.asarray(images[i])
        if image.dtype != np.uint8:
            image = np.clip(image * (255.0 if image.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
        labels = None
        if masks is not None and masks.ndim == 4:
            onehot = np.asarray(masks[i]) > 0.5
            labels = np.argmax(onehot, axis=-1).astype(np.uint8)
            labels[onehot.sum(axis=-1) != 1] = IGNORE
        elif masks is not None:  # class ids, 10 = background (as several M2NIST copies ship)
            ids = np.asarray(masks[i])
            labels = np.where((ids >= 0) & (ids <= BACKGROUND), ids, IGNORE).astype(np.uint8)
        yield image, labels


def read_pages(source: Source, dpi: float = 300.0) -> Iterator[Page]:
    """Decode every page of `source`; raises InputError with a one-line cause."""
    path = source.path
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from exc
    if size == 0:
        raise InputError(path, "empty file (0 bytes)")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        for n, image in enumerate(_read_pdf(path, dpi), 1):
            yield Page(path, f"{source.name}_p{n:03d}", n, image)
        return
    if suffix == ".npy":
        for n, (image, labels) in enumerate(_read_npy(path), 1):
            yield Page(path, f"{source.name}_{n:05d}", n, image, labels)
        return
    data = path.read_bytes()
    size_in_header = header_size(data)
    if size_in_header and size_in_header[0] * size_in_header[1] > MAX_PIXELS:
        raise InputError(path, "unusable dimensions {}x{} (from the file header)".format(*size_in_header))
    try:
        images, damaged = _decode(path, data)
    except cv2.error as exc:
        raise InputError(path, f"cannot decode image ({str(exc).strip().splitlines()[-1]})") from exc
    if not images:
        raise InputError(path, "not a readable image (corrupt, truncated or unsupported format)")
    chain = tiff_pages(data)
    if chain and chain[1]:
        raise InputError(path, f"damaged TIFF: its list of pages breaks off after page {chain[0]}")
    if chain and len(images) < chain[0]:
        raise InputError(path, f"damaged TIFF: {len(images)} of its {chain[0]} pages decode")
    if 0 in damaged:
        raise InputError(path, f"damaged TIFF: {damaged[0]}")
    many = len(images) > 1
    for n, image in enumerate(images, 1):
        _check_size(path, image)
        if n not in damaged:
            yield Page(path, f"{source.name}_p{n:03d}" if many else source.name, n, image)
    if damaged:  # after the good pages: they are segmented, the damaged ones reported
        pages = ", ".join(str(n) for n in damaged)
        raise InputError(path, f"damaged TIFF: page {pages} of {len(images)} does not decode "
                               f"cleanly ({next(iter(damaged.values()))})")


def page_from_array(image: np.ndarray, name: str = "array") -> Page:
    """A page from an image array, checked as decoded files are: grey (H, W) or
    (H, W, 1|2|3|4) channels (BGR order; a 2nd/4th channel is alpha), uint8 or uint16, or
    float in 0-1 (or 0-255), each side at least 8 px. Raises InputError naming `name`."""
    if not isinstance(image, np.ndarray):
        raise InputError(name, f"not an image array ({type(image).__name__})")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 2, 3, 4)):
        raise InputError(name, f"unusable array shape {image.shape}: use (H, W) or "
                               "(H, W, 1-4 channels)")
    _check_size(name, image)
    if image.dtype.kind == "f":
        if not np.isfinite(image).all():
            raise InputError(name, "the array holds NaN or infinite values")
        image = image * 255.0 if image.max(initial=0) <= 1.0 else image
        image = np.clip(image, 0, 255).astype(np.uint8)
    elif image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    elif image.dtype not in (np.uint8, np.uint16):
        raise InputError(name, f"unsupported array type {image.dtype}: use uint8, uint16 or float")
    if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha
        image = _flatten_alpha(np.dstack([image[..., 0]] * 3 + [image[..., 1]]))
    elif image.ndim == 3 and image.shape[2] == 4:
        image = _flatten_alpha(image)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    return Page(Path(name), safe_name(name), 1, np.ascontiguousarray(image))


def read_label_map(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """A class-id label PNG that must match the page's `shape` (H, W)."""
    labels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if labels is None:
        raise InputError(path, "label file is not a readable PNG")
    if labels.ndim != 2 or labels.dtype != np.uint8:
        raise InputError(path, "label file must be a single-channel 8-bit PNG of class ids")
    if labels.shape != tuple(shape):
        raise InputError(path, f"label size {labels.shape[::-1]} differs from page {shape[::-1]}")
    bad = (labels > BACKGROUND) & (labels != IGNORE)
    if bad.any():
        raise InputError(path, f"label values must be 0-{BACKGROUND} or {IGNORE}")
    return labels


def find_labels(labels_dir: Path, page: Page) -> Path | None:
    """The label PNG for `page` in `labels_dir`, matched by page name or file stem."""
    for stem in (page.name, page.source.stem, page.name.split("__")[-1]):
        candidate = labels_dir / f"{stem}.png"
        if candidate.is_file():
            return candidate
    return None
