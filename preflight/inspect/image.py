"""Image and document inspection with Pillow: decode fully, with bounded memory.

The pixel count is read from the header and checked *before* decoding, so a decompression bomb
is refused without allocating it. PDFs (grant letters) get a structural check only.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import ProbeError
from preflight.safeio import open_regular

#: Refuse to decode images above this many pixels (a 50-megapixel photo is fine).
MAX_PIXELS = 80_000_000
#: JPEGs larger than this are decoded at reduced (DCT-scaled) size.
DRAFT_PIXELS = 4_000_000
_PDF_TAIL = 2048
#: PDFs up to this size are scanned for pages (once, linearly); larger ones are refused.
MAX_PDF_BYTES = 32_000_000


@dataclass(frozen=True)
class ImageInfo:
    """A fully decoded image (pixels are not kept)."""

    path: Path
    format: str
    mode: str
    width: int
    height: int
    exif_orientation: int | None

    @property
    def has_alpha(self) -> bool:
        """Whether the image has an alpha channel (or transparency)."""
        return self.mode in ("RGBA", "LA", "PA", "RGBa", "La") or self.mode.endswith("A")

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) after the EXIF orientation is applied."""
        if self.exif_orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class PdfInfo:
    """A structurally plausible PDF."""

    path: Path
    version: str
    pages: int


def is_pdf(path: Path) -> bool:
    """Whether the file starts with the PDF signature."""
    with open_regular(path) as fh:
        return fh.read(5) == b"%PDF-"


#: Page objects; every quantifier is bounded, so a scan is linear in the file size.
_PDF_PAGE = re.compile(rb"/Type\s{0,16}/Page(?![s\w])")
#: Page-tree tokens: a ``/Type /Pages`` node, a ``/Count``, or a dictionary boundary.
_PDF_TREE = re.compile(rb"/Type\s{0,16}/Pages(?!\w)|/Count\s{1,16}(\d{1,9})|<<|>>")


def count_pages(data: bytes) -> int:
    """Pages in an uncompressed PDF body: the number of ``/Type /Page`` objects, or the
    largest ``/Count`` of a ``/Type /Pages`` dictionary (the page tree), whichever is larger.

    Linear scans without backtracking: page objects are counted first; only without any is
    the page tree read, where a token between two dictionary boundaries belongs to the same
    dictionary.
    """
    leaves = len(_PDF_PAGE.findall(data))
    if leaves:
        return leaves
    best = 0
    in_tree = False
    count: int | None = None
    for m in _PDF_TREE.finditer(data):
        token = m.group(0)
        if m.group(1) is not None:
            count = int(m.group(1))
        elif token.startswith(b"/"):
            in_tree = True
        else:
            in_tree, count = False, None
        if in_tree and count is not None:
            best = max(best, count)
    return best


def inspect_pdf(path: Path) -> PdfInfo:
    """Check the PDF header, the end-of-file marker and that there is at least one page.

    :raises ProbeError: not a PDF, truncated, or without pages.
    """
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(1024)
        if not head.startswith(b"%PDF-"):
            raise ProbeError(path, "is not a PDF (no %PDF- header)")
        fh.seek(max(0, size - _PDF_TAIL))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise ProbeError(path, "PDF is truncated (no %%EOF marker at the end)")
    version = head[5:8].decode("ascii", "replace")
    if size > MAX_PDF_BYTES:
        raise ProbeError(path, f"PDF is {size / 1e6:.0f} MB, over the {MAX_PDF_BYTES / 1e6:.0f} MB "
                         "that is scanned for pages (a scanned letter is a few MB)")
    with open_regular(path) as fh:
        pages = count_pages(fh.read(MAX_PDF_BYTES))
    if pages == 0:
        raise ProbeError(path, "PDF has no pages")
    return PdfInfo(path, version, pages)


def inspect_image(path: Path, *, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Open, size-check and fully decode an image.

    :raises ProbeError: not an image, too many pixels, truncated or corrupt.
    """
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = None  # the explicit check below replaces Pillow's warning
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as img:
                fmt = img.format or "unknown"
                w, h = img.size
                if w * h > max_pixels:
                    raise ProbeError(
                        path, f"{fmt} of {w}x{h} = {w * h / 1e6:.0f} megapixels exceeds the "
                        f"{max_pixels / 1e6:.0f}-megapixel limit (decompression bomb?)")
                orientation = None
                try:
                    orientation = img.getexif().get(0x0112)
                except Exception:  # a bad EXIF block is not fatal
                    orientation = None
                mode = img.mode
                if fmt == "JPEG" and w * h > DRAFT_PIXELS:
                    # Decode every scan at 1/8 scale: a truncated or corrupt stream is still
                    # caught, with 1/64 of the memory.
                    img.draft(None, (max(1, w // 8), max(1, h // 8)))
                img.load()
                if fmt == "JPEG":
                    _check_jpeg_data(path, w, h)
                if mode == "P" and "transparency" in img.info:
                    mode = "PA"
    except ProbeError:
        raise
    except UnidentifiedImageError:
        raise ProbeError(path, "is not an image Pillow can read (not JPEG/PNG)") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, Image.DecompressionBombError,
            TypeError, IndexError, KeyError, ZeroDivisionError, struct_error()) as exc:
        raise ProbeError(path, f"cannot be decoded: {exc}") from None
    return ImageInfo(path, fmt, mode, w, h,
                     int(orientation) if isinstance(orientation, int) else None)


#: Start-of-frame markers of arithmetic-coded JPEGs (which can code a flat block in < 1 bit).
_ARITHMETIC_SOF = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _scan_offset(path: Path) -> tuple[int, int] | None:
    """(offset of the first start-of-scan, SOF marker) from the JPEG's segment headers."""
    with open_regular(path) as fh:
        if fh.read(2) != b"\xff\xd8":
            return None
        pos, sof = 2, 0
        for _ in range(10_000):  # segments before the first scan; a real file has a dozen
            head = fh.read(4)
            if len(head) < 4 or head[0] != 0xFF:
                return None
            marker, length = head[1], int.from_bytes(head[2:4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                sof = marker
            if marker == 0xDA:
                return pos, sof
            pos += 2 + length
            fh.seek(pos)
    return None


def _check_jpeg_data(path: Path, width: int, height: int) -> None:
    """Refuse a JPEG whose entropy-coded data is too short for the size its header claims:
    every 8x8 block of the luma plane costs at least 2 bits (a DC difference and an
    end-of-block code), so less means a truncated file or a patched header.

    :raises ProbeError: the data cannot hold the claimed image.
    """
    found = _scan_offset(path)
    if found is None:
        return
    offset, sof = found
    if sof in _ARITHMETIC_SOF:
        return
    blocks = -(-width // 8) * -(-height // 8)
    present = path.stat().st_size - offset
    if present * 8 < 2 * blocks:
        raise ProbeError(path, f"JPEG header claims {width}x{height}, but its {present:,} bytes "
                         f"of image data cannot hold that ({blocks:,} blocks need at least "
                         f"{2 * blocks // 8:,}); truncated, or the header was altered")


def struct_error() -> type[Exception]:
    """`struct.error` (raised by some Pillow plugins on corrupt headers)."""
    import struct

    return struct.error
