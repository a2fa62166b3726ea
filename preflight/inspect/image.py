"""Image and document inspection with Pillow: decode fully, with bounded memory.

The pixel count is read from the header and checked *before* decoding, so a decompression bomb
is refused without allocating it. PDFs (grant letters) get a structural check only.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from preflight.errors import ProbeError

#: Refuse to decode images above this many pixels (a 50-megapixel photo is fine).
MAX_PIXELS = 80_000_000
#: JPEGs larger than this are decoded at reduced (DCT-scaled) size.
DRAFT_PIXELS = 4_000_000
_PDF_TAIL = 2048


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
    with open(path, "rb") as fh:
        return fh.read(5) == b"%PDF-"


def inspect_pdf(path: Path) -> PdfInfo:
    """Check the PDF header, the end-of-file marker and that there is at least one page.

    :raises ProbeError: not a PDF, truncated, or without pages.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(1024)
        if not head.startswith(b"%PDF-"):
            raise ProbeError(path, "is not a PDF (no %PDF- header)")
        fh.seek(max(0, size - _PDF_TAIL))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise ProbeError(path, "PDF is truncated (no %%EOF marker at the end)")
    version = head[5:8].decode("ascii", "replace")
    pages = 0
    if size <= 64_000_000:
        data = path.read_bytes()
        pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", data))
        counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data)]
        pages = max([pages, *counts])
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


def struct_error() -> type[Exception]:
    """`struct.error` (raised by some Pillow plugins on corrupt headers)."""
    import struct

    return struct.error
