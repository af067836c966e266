"""Uploaded photos made safe to store and serve: decoded to prove they are images, re-encoded
without their metadata, bounded in size, and given a thumbnail.

Only the pixels survive re-encoding: EXIF (GPS position, camera serial, the owner's name), XMP
and text chunks are dropped; the orientation EXIF asked for is applied to the pixels first.
The colour profile is kept where the colour space is unchanged, so photos keep their colours.

CPU-bound and blocking: callers run `process_image` in a worker thread (Pillow releases the GIL
while it decodes, resizes and encodes).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from domain.errors import ImageTooLargeError, InvalidImageError, UnsupportedImageError

# Format as Pillow names it -> the content type it is stored and served under.
FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Decoded size limit. Pillow's own check only warns between 1x and 2x its limit, so the limit is
# both set on Pillow (its hard stop at 2x, inside Image.open) and checked here (at 1x).
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A truncated file is a broken upload, never half an image padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_SIDE = 2048  # the stored image: plenty to see a crack in a wall, a bounded cost to serve
THUMB_SIDE = 320
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 85},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 85, "method": 4},
}
# Modes Pillow resizes badly or not at all (palette and bilevel images only by nearest
# neighbour; 16-bit and float not in every filter): converted before resizing, not after.
_CONVERT_BEFORE_RESIZE = frozenset({"1", "P", "PA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La"})


@dataclass(frozen=True, slots=True)
class Rendition:
    """One encoded image, ready to store."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str  # of `data`: the ETag it is served with

    @property
    def bytes(self) -> int:
        return len(self.data)


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    image: Rendition
    thumbnail: Rendition


@dataclass(frozen=True, slots=True)
class ImageLimits:
    max_pixels: int = MAX_PIXELS
    max_side: int = MAX_SIDE
    thumb_side: int = THUMB_SIDE


def process_image(source: IO[bytes], *, limits: ImageLimits | None = None) -> ProcessedImage:
    """Decode `source` (a seekable file, read from its start) and return it re-encoded in its
    own format, at most `max_side` pixels on its longer side, with a thumbnail of at most
    `thumb_side`.

    Raises UnsupportedImageError (not a JPEG, PNG or WebP), ImageTooLargeError (more than
    `max_pixels` decoded) or InvalidImageError (empty, truncated or corrupt)."""
    limits = limits or ImageLimits()
    source.seek(0)
    if not source.read(1):
        raise InvalidImageError("The file is empty.", reason="EMPTY_FILE")
    source.seek(0)
    try:
        with Image.open(source, formats=list(FORMATS)) as opened:
            image, image_format, icc_profile = _decode(opened, limits)
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(
            "The file is not a JPEG, PNG or WebP image.", reason="UNSUPPORTED_IMAGE_FORMAT"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limits) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow's decoders report a truncated or corrupt file with any of these.
        raise InvalidImageError(
            "The image could not be decoded: the file is truncated or corrupt.",
            reason="INVALID_IMAGE",
        ) from exc
    thumb = image.copy()
    thumb.thumbnail((limits.thumb_side, limits.thumb_side), Image.Resampling.LANCZOS)
    return ProcessedImage(
        image=_encode(image, image_format, icc_profile),
        thumbnail=_encode(thumb, image_format, icc_profile),
    )


def _too_many_pixels(limits: ImageLimits) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"The image is too large: at most {limits.max_pixels:,} pixels once decoded.",
        reason="TOO_MANY_PIXELS",
    )


def _decode(
    opened: ImageFile.ImageFile, limits: ImageLimits
) -> tuple[Image.Image, str, bytes | None]:
    """The pixels of `opened`, upright, in a mode its format can store, within `max_side`; its
    format; the colour profile to store with it (None when the pixels left its colour space)."""
    width, height = opened.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    image_format = opened.format or ""
    if image_format == "JPEG":
        # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is far larger than what
        # is kept: a fraction of the memory and time of a full decode.
        opened.draft("RGB", (limits.max_side, limits.max_side))
    opened.load()
    source_mode = opened.mode
    icc_profile = opened.info.get("icc_profile")
    target = _target_mode(image_format, source_mode, opened.has_transparency_data)
    image: Image.Image = opened
    if source_mode in _CONVERT_BEFORE_RESIZE:
        image = image.convert(target)
    # Shrink first, in place, then turn and convert the small image: the full-size pixels are
    # held once, never copied (a phone photo's are tens of megabytes).
    if max(image.size) > limits.max_side:
        # Bicubic, not Lanczos: Pillow's resize filters scale their support with the ratio, so
        # both antialias; for the usual twofold reduction of a phone photo the difference is
        # invisible and bicubic costs markedly less CPU (bench/uploads.py).
        image.thumbnail((limits.max_side, limits.max_side), Image.Resampling.BICUBIC)
    # A new image either way (transposed, or a copy): `opened` and its metadata stay behind.
    image = ImageOps.exif_transpose(image)
    if image.mode != target:
        image = image.convert(target)
    # Nothing of the source's metadata may reach an encoder, whatever it looks for.
    image.info = {}
    keep_profile = isinstance(icc_profile, bytes) and _same_colour_space(source_mode, target)
    return image, image_format, icc_profile if keep_profile else None


def _target_mode(image_format: str, mode: str, has_alpha: bool) -> str:
    grey = mode in _GREY_MODES
    if image_format == "JPEG" or not has_alpha:
        return "L" if grey else "RGB"
    return "LA" if grey and image_format == "PNG" else "RGBA"


def _same_colour_space(source_mode: str, target_mode: str) -> bool:
    if source_mode == "CMYK":
        return False
    return (source_mode in _GREY_MODES) == (target_mode in _GREY_MODES)


def _encode(image: Image.Image, image_format: str, icc_profile: bytes | None) -> Rendition:
    out = io.BytesIO()
    options = dict(_SAVE_OPTIONS[image_format])
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    image.save(out, format=image_format, **options)
    data = out.getvalue()
    return Rendition(
        data=data,
        content_type=FORMATS[image_format],
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
