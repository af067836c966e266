"""Uploaded photos made safe to store and serve: decoded to prove they are images, re-encoded
without their metadata, bounded in size, and given a thumbnail.

Only the pixels survive re-encoding: EXIF (GPS position, camera serial, the owner's name), XMP,
text chunks and colour profiles are dropped; the orientation EXIF asked for is applied to the
pixels first, and a colour profile is applied by converting the pixels to sRGB (what a browser
assumes of an image without one), so photos keep their colours without carrying the profile.

Priced before decoded: the memory a decode will hold is worked out from the header, an image
past `ImageLimits.max_decode_bytes` is refused, and every decode in the process reserves its
price from one `DecodeBudget` first, so that however many uploads arrive at once the decoded
pixels held together stay within it.

CPU-bound and blocking: callers run `process_image` in a worker thread (Pillow releases the GIL
while it decodes, resizes and encodes).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import io
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, ImageCms, ImageFile, ImageOps, UnidentifiedImageError, _imaging

from domain.errors import (
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedImageError,
    UploadRejectedError,
)

log = logging.getLogger("jobwizard.media")

# Format as Pillow names it -> the content type it is stored and served under.
FORMATS: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# What Pillow may report for a file one of those openers took -> the format it is stored in.
# Pillow's JPEG opener answers MPO for the multi-picture JPEGs many phones write; their first
# picture is the photo, and it is stored as a plain JPEG.
_STORED_AS: dict[str, str] = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
# Decoded size limit. Pillow's own check only warns between 1x and 2x its limit, so the limit is
# both set on Pillow (its hard stop at 2x, inside Image.open) and checked here (at 1x).
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A truncated file is a broken upload, never half an image padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
MAX_SIDE = 2048  # the stored image: plenty to see a crack in a wall, a bounded cost to serve
THUMB_SIDE = 320
# Memory one decode may hold, and the budget every decode in the process shares: enough for the
# largest image MAX_PIXELS lets in (with its working copies), one at a time.
MAX_DECODE_BYTES = 256 * 1024 * 1024
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 85},
    "PNG": {"compress_level": 6},
    "WEBP": {"quality": 85, "method": 4},
}
# Modes Pillow resizes badly or not at all (palette and bilevel images only by nearest
# neighbour; 16-bit and float not in every filter): converted before resizing, not after.
_CONVERT_BEFORE_RESIZE = frozenset({"1", "P", "PA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "La"})
# Bytes a pixel takes in Pillow's memory once decoded: RGB is held like RGBA.
_ONE_BYTE_MODES = frozenset({"1", "L", "P"})
_TWO_BYTE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})


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
    max_decode_bytes: int = MAX_DECODE_BYTES


class DecodeBudget:
    """Bytes of decoded pixels the process holds at once, shared by every decoding thread: a
    decode reserves its price first and waits while the budget has no room for it."""

    def __init__(self, total: int = MAX_DECODE_BYTES) -> None:
        self.total = total
        self._free = total
        self._room = threading.Condition()

    @property
    def free(self) -> int:
        with self._room:
            return self._free

    @contextlib.contextmanager
    def reserve(self, price: int) -> Iterator[None]:
        price = min(price, self.total)  # what is past the total was refused by the caller
        with self._room:
            self._room.wait_for(lambda: self._free >= price)
            self._free -= price
        try:
            yield
        finally:
            with self._room:
                self._free += price
                self._room.notify_all()


# One per process: memory is the process's, whichever request or thread decodes.
DECODE_BUDGET = DecodeBudget()

# glibc serves a large block from a heap rather than its own mapping once a block that size has
# been freed (its threshold rises with each free), and a worker thread's heap keeps what it
# freed: decoded photos then stay resident long after their request. A fixed threshold keeps
# every decoded image in a mapping of its own, handed back to the system when it is freed.
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 4 * 1024 * 1024
# Fixing that threshold also stops glibc raising the trim threshold with it (to twice it): a
# heap then hands back all but 128 KB of free memory at its top on every free, and the next
# upload's body, up to 4 MB and held in one block, is faulted in and zeroed by the kernel page
# by page again. Twice the fixed threshold, as glibc's own rule would set it, bounds what a
# heap keeps for the next one.
_M_TRIM_THRESHOLD = -1
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD


def return_large_blocks_to_the_system() -> None:
    """Fix the thresholds for the whole process; the composition root calls it once at start."""
    # Not glibc (no mallopt): its allocator has no such thresholds to fix.
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


# Image blocks one upload frees: the decoded photo's, its thumbnail's and the thumbnail's
# intermediate reduction.
_BLOCKS_PER_DECODE = 3


def reuse_image_blocks(images_at_once: int) -> int:
    """Let Pillow keep the blocks an upload frees (each at most its block size, 16 MB), for each
    image decoded at once, for the next upload instead of handing them back to the system: a
    fresh mapping is faulted in and zeroed by the kernel page by page, a large share of an
    upload's CPU, and a kept block is not. Bounded, unlike the heaps the threshold above keeps
    photos out of: returns the most it keeps. The composition root calls it once at start."""
    blocks = _BLOCKS_PER_DECODE * images_at_once
    # The setting PILLOW_BLOCKS_MAX sets at import, here from the process's own settings.
    _imaging.set_blocks_max(blocks)
    return blocks * int(_imaging.get_block_size())


def process_image(
    source: IO[bytes], *, limits: ImageLimits | None = None, budget: DecodeBudget | None = None
) -> ProcessedImage:
    """Decode `source` (a seekable file, read from its start) and return it re-encoded in its
    own format, in sRGB, at most `max_side` pixels on its longer side, with a thumbnail of at
    most `thumb_side`.

    Raises UnsupportedImageError (not a JPEG, PNG or WebP), ImageTooLargeError (more than
    `max_pixels`, or more than `max_decode_bytes` of memory, once decoded) or InvalidImageError
    (empty, truncated or corrupt); never anything else, whatever the bytes."""
    limits = limits or ImageLimits()
    budget = budget or DECODE_BUDGET
    source.seek(0)
    if not source.read(1):
        raise InvalidImageError("The file is empty.", reason="EMPTY_FILE")
    source.seek(0)
    try:
        with Image.open(source, formats=list(FORMATS)) as opened:
            image_format = _stored_format(opened)
            price = _price(opened, limits)
            with budget.reserve(price):
                image = _decode(opened, image_format, limits)
                thumb = _thumbnail(image, limits.thumb_side)
                thumbnail = _encode(thumb, image_format)
                # Freed before the image: Pillow hands out its last freed block first, and the
                # next upload's first image is a decoded photo, which then fits it exactly.
                del thumb
                return ProcessedImage(image=_encode(image, image_format), thumbnail=thumbnail)
    except UploadRejectedError:
        raise
    except UnidentifiedImageError as exc:
        raise UnsupportedImageError(
            "The file is not a JPEG, PNG or WebP image.", reason="UNSUPPORTED_IMAGE_FORMAT"
        ) from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(limits) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow's decoders report a truncated or corrupt file with any of these.
        raise _undecodable() from exc
    except Exception as exc:
        # A decoder meeting bytes nobody wrote (struct.error, IndexError, ...): the upload is
        # what is wrong, not the server. Named in the log so that it can be looked into.
        log.warning("upload not decodable: %s from Pillow", type(exc).__name__)
        raise _undecodable() from exc


def _undecodable() -> InvalidImageError:
    return InvalidImageError(
        "The image could not be decoded: the file is truncated or corrupt.",
        reason="INVALID_IMAGE",
    )


def _stored_format(opened: ImageFile.ImageFile) -> str:
    stored = _STORED_AS.get(opened.format or "")
    if stored is None:
        raise UnsupportedImageError(
            "The file is not a JPEG, PNG or WebP image.", reason="UNSUPPORTED_IMAGE_FORMAT"
        )
    return stored


def _too_many_pixels(limits: ImageLimits) -> ImageTooLargeError:
    return ImageTooLargeError(
        f"The image is too large: at most {limits.max_pixels:,} pixels once decoded.",
        reason="TOO_MANY_PIXELS",
    )


def _fitted(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` shrunk to fit a `side` x `side` box, its aspect kept; unchanged when it fits."""
    width, height = size
    scale = min(side / width, side / height, 1.0)
    return max(round(width * scale), 1), max(round(height * scale), 1)


# libjpeg decodes at 1/2, 1/4 or 1/8 scale for a fraction of the CPU of a full decode. A scale
# is taken when it leaves the longer side at least this share of `max_side`, and the photo is
# then stored at the size it decoded at, without another resize: a phone photo about twice
# `max_side` wide is stored a little under it, for a fraction of the CPU (docs/benchmarks.md).
_DRAFT_SHARE = 0.9


def draft_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """The least size a JPEG decode of `size` may be reduced to, for a stored `side` (what
    `process_image` asks of `Image.draft`)."""
    width, height = _fitted(size, side)
    return max(math.ceil(width * _DRAFT_SHARE), 1), max(math.ceil(height * _DRAFT_SHARE), 1)


def _thumbnail(image: Image.Image, side: int) -> Image.Image:
    """`image` fitted within `side`: a new image (no copy of the whole first, as
    `Image.thumbnail` needs), or `image` itself when it fits."""
    size = _fitted(image.size, side)
    if size == image.size:
        return image
    # A box reduction to within the size's next whole factor, then bicubic for the last few
    # per cent: at thumbnail size neither step is visible (Lanczos there differs by at most two
    # levels in a channel), and bicubic costs less over the reduced pixels.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0)


def _bytes_per_pixel(mode: str) -> int:
    return 1 if mode in _ONE_BYTE_MODES else 2 if mode in _TWO_BYTE_MODES else 4


def _reduction(size: tuple[int, int], side: int) -> int:
    """The whole factor that brings the longer side of `size` to between `side` and twice it."""
    return max(max(size) // side, 1)


def _price(opened: ImageFile.ImageFile, limits: ImageLimits) -> int:
    """Bytes the decode of `opened` will hold at its peak, from its header alone: the decoded
    pixels, their conversion where the mode needs one first, the reduced copy and the two
    renditions. ImageTooLargeError past either limit."""
    width, height = opened.size
    if width * height > limits.max_pixels:
        raise _too_many_pixels(limits)
    if (opened.format or "") in ("JPEG", "MPO"):
        # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale when the image is far larger than what
        # is kept: a fraction of the memory and time of a full decode. The size and mode the
        # header now announces are what will be decoded.
        opened.draft("RGB", draft_size(opened.size, limits.max_side))
    width, height = opened.size
    pixels = width * height
    price = pixels * _bytes_per_pixel(opened.mode)
    if opened.mode in _CONVERT_BEFORE_RESIZE:
        price += pixels * 4
    factor = _reduction(opened.size, limits.max_side)
    if factor > 1:
        price += math.ceil(width / factor) * math.ceil(height / factor) * 4
    price += 2 * limits.max_side * limits.max_side * 4
    if price > limits.max_decode_bytes:
        raise ImageTooLargeError(
            f"The image is too large: decoding it would take more than "
            f"{limits.max_decode_bytes // (1024 * 1024)} MB of memory.",
            reason="TOO_MANY_PIXELS",
        )
    return price


def _decode(opened: ImageFile.ImageFile, image_format: str, limits: ImageLimits) -> Image.Image:
    """The pixels of `opened`, upright, in sRGB, in a mode its format can store, within
    `max_side`, with none of its metadata."""
    opened.load()
    source_mode = opened.mode
    icc_profile = opened.info.get("icc_profile")
    target = _target_mode(image_format, source_mode, opened.has_transparency_data)
    image: Image.Image = opened
    if source_mode in _CONVERT_BEFORE_RESIZE:
        image = image.convert(target)
    if max(image.size) > limits.max_side:
        # A box reduction by a whole factor first (one pass, no large intermediate), then
        # bicubic to the exact size. Bicubic, not Lanczos: for the usual twofold reduction of a
        # phone photo the difference is invisible and bicubic costs markedly less CPU
        # (bench/uploads.py).
        factor = _reduction(image.size, limits.max_side)
        if factor > 1:
            image = image.reduce(factor)
        if image is not opened:
            opened.close()  # the full-size pixels go before the next copy is made
        image = image.resize(_fitted(image.size, limits.max_side), Image.Resampling.BICUBIC)
    # In place: an upright photo (most of them) is not copied; a turned one is replaced by its
    # transposed pixels. `image` may still be `opened`, which the caller closes after encoding.
    ImageOps.exif_transpose(image, in_place=True)
    image = _to_srgb(image, icc_profile if isinstance(icc_profile, bytes) else None, target)
    # Nothing of the source's metadata may reach an encoder, whatever it looks for: the
    # encoders read pixels and `info`, never the opener's other attributes.
    image.info = {}
    return image


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image, icc_profile: bytes | None, target: str) -> Image.Image:
    """`image` in `target` mode, its colours taken from `icc_profile` into sRGB where there is
    one that fits its pixels. Greyscale keeps its grey levels: a grey profile changes little,
    and converting would make the image colour."""
    if icc_profile is not None and target in ("RGB", "RGBA"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            if image.mode == target:  # no second image: the pixels are converted where they are
                ImageCms.profileToProfile(image, source, _srgb(), inPlace=True)
                return image
            converted = ImageCms.profileToProfile(image, source, _srgb(), outputMode=target)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            converted = None  # a broken profile, or one for other pixels: the pixels as they are
        if converted is not None:
            return converted
    return image if image.mode == target else image.convert(target)


def _target_mode(image_format: str, mode: str, has_alpha: bool) -> str:
    grey = mode in _GREY_MODES
    if image_format == "JPEG" or not has_alpha:
        return "L" if grey else "RGB"
    return "LA" if grey and image_format == "PNG" else "RGBA"


def _encode(image: Image.Image, image_format: str) -> Rendition:
    out = io.BytesIO()
    image.save(out, format=image_format, **_SAVE_OPTIONS[image_format])
    data = out.getvalue()
    return Rendition(
        data=data,
        content_type=FORMATS[image_format],
        width=image.width,
        height=image.height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
