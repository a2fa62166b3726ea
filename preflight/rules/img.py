"""IMG rules: cover, ID card sides, grant letter and beauty images (constraints §3.5). Each file is
decoded once (Pillow, after a pixel-count check) and shared by all rules through the file memo."""

from __future__ import annotations

from collections.abc import Iterator

from preflight.inspect import shared
from preflight.inspect.image import MAX_PIXELS
from preflight.metastudio import ID_CARD_SLOTS, family_slots
from preflight.model import Severity
from preflight.rules.base import Fact, FileContext, Option, Options, file_rule
from preflight.rules.gates import lfs_gate, readable_gate

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
IMAGE_SLOTS = family_slots("IMG")
_ORIENT = {2: "mirrored", 3: "rotated 180°", 4: "flipped", 5: "transposed",
           6: "rotated 90° clockwise", 7: "transversed", 8: "rotated 90° counter-clockwise"}


def _pdf_ok(ctx: FileContext) -> bool:
    """The grant letter may be a PDF (constraints §3.5)."""
    return ctx.slot == "grant_file"


def _image(ctx: FileContext) -> object:
    return shared.image_file(ctx, MAX_PIXELS, _pdf_ok(ctx)).value


@file_rule("IMG002", "image-decode", E,
           "Each image decodes fully (not truncated, not a bomb); a grant-letter PDF is complete.",
           "§3.5", slots=IMAGE_SLOTS, gate=True, options={
               "max_pixels": Option(MAX_PIXELS, "Refuse to decode images with more pixels."),
           })
def image_decode(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Images are decoded to the last pixel (a header check is not enough: a truncated JPEG
    passes it). The pixel count is checked before decoding, so a decompression bomb is refused
    without using its memory. The grant letter may be a PDF: its header, end marker and at least
    one page are checked."""
    got = shared.image_file(ctx, int(opts["max_pixels"]), _pdf_ok(ctx))
    if got.error is not None:
        yield Fact(f"{ctx.slot} {ctx.path.name} {got.error.detail}",
                   details={"problem": got.error.detail})


@file_rule("IMG003", "image-format", E,
           "Images are JPEG or PNG (the grant letter may also be PDF).", "§3.5", slots=IMAGE_SLOTS,
           inferred=True)
def image_format(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """The grant letter is documented as PDF/JPG/PNG; the other images have no documented
    format, and JPEG/PNG are the safe choice. The format is read from the content, not the name."""
    from preflight.inspect.image import ImageInfo

    info = _image(ctx)
    if not isinstance(info, ImageInfo):
        return
    allowed = "PDF, JPEG or PNG" if ctx.slot == "grant_file" else "JPEG or PNG"
    if info.format not in ("JPEG", "PNG", "MPO"):
        yield Fact(f"{ctx.path.name} is {info.format}; use {allowed}",
                   details={"format": info.format})
    elif info.format == "PNG" and info.frames > 1:
        yield Fact(f"{ctx.path.name} is an animated PNG (APNG, {info.frames} frames); use a "
                   f"still {allowed}", details={"format": "APNG", "frames": info.frames})


@file_rule("IMG004", "image-color-mode", W, "Images are RGB or greyscale, without CMYK or alpha.",
           "§3.5", slots=IMAGE_SLOTS, inferred=True)
def image_mode(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """CMYK JPEGs show wrong colours in many viewers and face matchers; transparency has no
    meaning for a photo and turns black or white unpredictably."""
    from preflight.inspect.image import ImageInfo

    info = _image(ctx)
    if not isinstance(info, ImageInfo):
        return
    if info.mode == "CMYK":
        yield Fact(f"{ctx.path.name} is CMYK; save it as RGB", details={"mode": info.mode})
    elif info.has_alpha:
        yield Fact(f"{ctx.path.name} has an alpha channel ({info.mode}); save it without "
                   "transparency", details={"mode": info.mode})


@file_rule("IMG005", "image-exif-orientation", INFO,
           "The image has no EXIF rotation that viewers may ignore.", "§3.5", slots=IMAGE_SLOTS,
           inferred=True)
def image_orientation(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """Phones store photos sideways plus an EXIF orientation tag; a reviewer or service that
    ignores the tag sees the ID card sideways (a common audit failure is "wrong orientation").
    A value outside 1–8 (0, 9, 65535) is invalid: each viewer guesses."""
    from preflight.inspect.image import ImageInfo

    info = _image(ctx)
    if not isinstance(info, ImageInfo) or info.exif_orientation in (None, 1):
        return
    if info.exif_orientation in _ORIENT:
        yield Fact(f"{ctx.path.name} relies on EXIF orientation "
                   f"({_ORIENT[info.exif_orientation or 0]}); rotate the pixels and drop the tag",
                   details={"orientation": info.exif_orientation})
    else:
        yield Fact(f"{ctx.path.name} has an invalid EXIF orientation value "
                   f"{info.exif_orientation} (valid: 1–8), which viewers show in different "
                   "ways; save it again without the tag", details={"orientation":
                                                                   info.exif_orientation})


@file_rule("IMG006", "id-card-resolution", W, "ID card photos are large enough to read.",
           "§3.5, §3.1", slots=ID_CARD_SLOTS, inferred=True, options={
               "min_long_side": Option(800, "Least pixels on the long side."),
               "min_short_side": Option(500, "Least pixels on the short side."),
           })
def id_card_size(ctx: FileContext, opts: Options) -> Iterator[Fact]:
    """ID photos must be clear (§3.1 Identity); a small photo of a card has unreadable text and
    a face too small to match the video."""
    from preflight.inspect.image import ImageInfo

    info = _image(ctx)
    if not isinstance(info, ImageInfo):
        return
    w, h = info.display_size
    if max(w, h) < int(opts["min_long_side"]) or min(w, h) < int(opts["min_short_side"]):
        yield Fact(f"{ctx.path.name} is only {w}x{h}; ID card photos need at least "
                   f"{opts['min_long_side']}x{opts['min_short_side']} to be readable",
                   details={"width": w, "height": h})


image_readable = readable_gate(
    "IMG001", "image-file-readable",
    "Each image/document exists, is a regular file, readable and not empty.", "§3.5", "IMG")
image_lfs = lfs_gate(
    "IMG090", "image-lfs-pointer",
    "The image/document is a Git LFS pointer, not the media: reported, not checked.", "§3.5",
    "IMG")

RULES = (image_readable, image_lfs, image_decode, image_format, image_mode, image_orientation,
         id_card_size)
