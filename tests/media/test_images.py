"""Uploaded photos: decoded to prove they are images, re-encoded without EXIF or XMP (GPS
included), upright, bounded, with a thumbnail; everything else refused with its HTTP answer."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import struct
import subprocess
import sys
import threading

import pytest
from PIL import Image, ImageCms

from domain.uploads import (
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedImageError,
    UploadRejectedError,
)
from media.images import (
    MAX_PIXELS,
    DecodeBudget,
    ImageLimits,
    ProcessedImage,
    Rendition,
    process_image,
)
from schema.codes import error_code
from tests.media import samples


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return samples.png_bomb()


def _process(data: bytes, limits: ImageLimits | None = None) -> ProcessedImage:
    return process_image(io.BytesIO(data), limits=limits)


def _open(rendition: Rendition) -> Image.Image:
    image = Image.open(io.BytesIO(rendition.data))
    image.load()
    return image


def _assert_no_metadata(rendition: Rendition) -> None:
    image = _open(rendition)
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "xmp" not in image.info
    assert "XML:com.adobe.xmp" not in image.info
    assert "Author" not in image.info
    for marker in (b"Exif\x00\x00", b"eXIf", b"GPS", b"Jane Customer", b"51,30.0N", b"PhoneMaker"):
        assert marker not in rendition.data


def test_jpeg_is_re_encoded_without_exif_gps_or_xmp() -> None:
    source = samples.jpeg((640, 480))
    assert b"Jane Customer" in source  # the sample really carries the metadata
    result = _process(source)
    for rendition in (result.image, result.thumbnail):
        assert rendition.content_type == "image/jpeg"
        _assert_no_metadata(rendition)
        assert _open(rendition).format == "JPEG"
    assert (result.image.width, result.image.height) == (640, 480)
    assert result.image.data != source


def test_png_keeps_transparency_and_loses_text_chunks_and_exif() -> None:
    result = _process(samples.png((400, 300), mode="RGBA"))
    assert result.image.content_type == "image/png"
    assert _open(result.image).mode == "RGBA"
    _assert_no_metadata(result.image)
    _assert_no_metadata(result.thumbnail)


def test_webp_loses_exif_and_xmp() -> None:
    source = samples.webp((400, 300))
    assert b"Jane Customer" in source
    result = _process(source)
    assert result.image.content_type == "image/webp"
    assert _open(result.image).format == "WEBP"
    _assert_no_metadata(result.image)
    _assert_no_metadata(result.thumbnail)


@pytest.mark.parametrize(("orientation", "expected"), [(1, (600, 300)), (6, (300, 600))])
def test_exif_orientation_is_applied_to_the_pixels(
    orientation: int, expected: tuple[int, int]
) -> None:
    result = _process(samples.jpeg((600, 300), orientation=orientation))
    assert (result.image.width, result.image.height) == expected
    assert _open(result.image).size == expected


def test_thumbnail_longest_side_is_320_and_keeps_the_aspect_ratio() -> None:
    result = _process(samples.jpeg((1200, 900)))
    assert (result.thumbnail.width, result.thumbnail.height) == (320, 240)
    assert _open(result.thumbnail).size == (320, 240)
    portrait = _process(samples.png((300, 1000), mode="RGB"))
    assert (portrait.thumbnail.width, portrait.thumbnail.height) == (96, 320)


def test_a_small_image_is_not_enlarged() -> None:
    result = _process(samples.png((100, 50), mode="RGB"))
    assert (result.image.width, result.image.height) == (100, 50)
    assert (result.thumbnail.width, result.thumbnail.height) == (100, 50)


def test_a_large_photo_is_stored_at_most_2048_on_its_longer_side() -> None:
    result = _process(samples.jpeg((4096, 3072), metadata=False))
    assert (result.image.width, result.image.height) == (2048, 1536)


def test_sha256_is_of_the_stored_bytes() -> None:
    result = _process(samples.jpeg())
    assert result.image.sha256 == hashlib.sha256(result.image.data).hexdigest()
    assert result.thumbnail.sha256 == hashlib.sha256(result.thumbnail.data).hexdigest()
    assert result.image.bytes == len(result.image.data)


def test_cmyk_jpeg_becomes_rgb() -> None:
    result = _process(samples.jpeg((200, 100), mode="CMYK", metadata=False))
    assert _open(result.image).mode == "RGB"


def test_palette_png_with_transparency_becomes_rgba() -> None:
    image = samples.gradient((64, 64)).convert("P")
    image.info["transparency"] = 0
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=0)
    result = _process(out.getvalue())
    assert _open(result.image).mode == "RGBA"


def test_sixteen_bit_greyscale_png_becomes_eight_bit() -> None:
    out = io.BytesIO()
    samples.gradient((64, 64), "L").convert("I;16").save(out, format="PNG")
    result = _process(out.getvalue())
    assert _open(result.image).mode == "L"


@pytest.mark.parametrize(
    ("data", "error", "status", "code", "reason"),
    [
        (b"", InvalidImageError, 400, "BAD_USER_INPUT", "EMPTY_FILE"),
        (samples.truncated_jpeg(), InvalidImageError, 400, "BAD_USER_INPUT", "INVALID_IMAGE"),
        (
            samples.zip_renamed_jpg(),
            UnsupportedImageError,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "UNSUPPORTED_IMAGE_FORMAT",
        ),
        (
            samples.SVG,
            UnsupportedImageError,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "UNSUPPORTED_IMAGE_FORMAT",
        ),
        (
            samples.gif(),
            UnsupportedImageError,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "UNSUPPORTED_IMAGE_FORMAT",
        ),
        (
            b"\xff\xd8\xff",
            UnsupportedImageError,
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            "UNSUPPORTED_IMAGE_FORMAT",
        ),
    ],
    ids=["empty", "truncated-jpeg", "zip-named-jpg", "svg", "gif", "jpeg-magic-only"],
)
def test_what_is_not_a_whole_jpeg_png_or_webp_is_refused(
    data: bytes, error: type[UploadRejectedError], status: int, code: str, reason: str
) -> None:
    with pytest.raises(error) as caught:
        _process(data)
    entry = error_code(caught.value)
    assert (entry.status, entry.code, caught.value.reason) == (status, code, reason)


def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    bomb: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(bomb) < 100_000
    assert Image.MAX_IMAGE_PIXELS == MAX_PIXELS  # set explicitly, not Pillow's default
    # Counted, not timed: decoding 400 million pixels would take seconds and gigabytes.
    decoded: list[Image.Image] = []
    load = Image.Image.load

    def counting_load(image: Image.Image) -> object:
        decoded.append(image)
        return load(image)

    monkeypatch.setattr(Image.Image, "load", counting_load)
    with pytest.raises(ImageTooLargeError) as caught:
        _process(bomb)
    assert decoded == []  # refused from the header
    entry = error_code(caught.value)
    assert (entry.status, entry.code) == (413, "PAYLOAD_TOO_LARGE")
    assert caught.value.reason == "TOO_MANY_PIXELS"


def test_an_image_just_past_the_pixel_limit_is_refused() -> None:
    limits = ImageLimits(max_pixels=640 * 480 - 1)
    with pytest.raises(ImageTooLargeError):
        _process(samples.jpeg((640, 480)), limits)
    assert _process(samples.jpeg((640, 480)), ImageLimits(max_pixels=640 * 480)).image.width == 640


def test_a_large_rotated_photo_is_shrunk_and_turned_upright() -> None:
    result = _process(samples.jpeg((3000, 2000), orientation=6))
    assert (result.image.width, result.image.height) == (1365, 2048)
    assert (result.thumbnail.width, result.thumbnail.height) == (213, 320)


def _jpeg_variant(kind: str) -> bytes:
    if kind == "mpo":
        return samples.mpo((640, 480))
    out = io.BytesIO()
    image = samples.gradient((640, 480))
    if kind == "progressive":
        image.save(out, format="JPEG", progressive=True, exif=samples.exif_with_gps().tobytes())
    elif kind == "grey":
        image.convert("L").save(out, format="JPEG")
    elif kind == "cmyk":
        image.convert("CMYK").save(out, format="JPEG")
    else:
        image.save(out, format="JPEG", subsampling=0, quality=95, optimize=True)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["mpo", "progressive", "grey", "cmyk", "optimized-444"])
def test_every_kind_of_jpeg_pillow_reports_is_stored_as_a_plain_jpeg(kind: str) -> None:
    source = _jpeg_variant(kind)
    if kind == "mpo":
        assert Image.open(io.BytesIO(source)).format == "MPO"  # what phones' files come as
    result = _process(source)
    for rendition in (result.image, result.thumbnail):
        assert rendition.content_type == "image/jpeg"
        assert _open(rendition).format == "JPEG"
        _assert_no_metadata(rendition)
    assert (result.image.width, result.image.height) == (640, 480)


def test_an_mpo_keeps_its_first_picture_only() -> None:
    result = _process(samples.mpo((800, 600)))
    stored = _open(result.image)
    assert stored.size == (800, 600)
    assert getattr(stored, "n_frames", 1) == 1
    assert b"MPF\x00" not in result.image.data  # no multi-picture index left behind


def _mangled(data: bytes, seed: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        at = rng.randrange(len(out))
        choice = rng.random()
        if choice < 0.5:
            out[at] = rng.randrange(256)
        elif choice < 0.75:
            del out[at : at + rng.randint(1, 64)]
        else:
            out[at:at] = rng.randbytes(rng.randint(1, 64))
    return bytes(out)


@pytest.mark.parametrize(
    "source",
    [samples.jpeg((96, 64)), samples.png((96, 64)), samples.webp((96, 64)), samples.mpo((96, 64))],
    ids=["jpeg", "png", "webp", "mpo"],
)
def test_mangled_files_are_stored_or_refused_as_uploads_never_an_unexpected_error(
    source: bytes,
) -> None:
    for seed in range(150):
        with contextlib.suppress(UploadRejectedError):
            _process(_mangled(source, seed))


def icc_profile_swapping_red_and_blue(padding: int = 0) -> bytes:
    """The sRGB profile with its red and blue primaries swapped: pure red under it is pure blue
    in sRGB. `padding` bytes are added inside the profile (its size field counts them)."""
    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", profile[128:132])
    tags = {}
    for index in range(count):
        at = 132 + 12 * index
        tags[bytes(profile[at : at + 4])] = at
    red, blue = tags[b"rXYZ"], tags[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    profile += bytes(padding)
    profile[0:4] = struct.pack(">I", len(profile))
    return bytes(profile)


def test_a_colour_profile_is_converted_to_srgb_and_not_stored() -> None:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(
        out, format="PNG", icc_profile=icc_profile_swapping_red_and_blue()
    )
    result = _process(out.getvalue())
    for rendition in (result.image, result.thumbnail):
        stored = _open(rendition)
        assert "icc_profile" not in stored.info
        red, green, blue = stored.convert("RGB").getpixel((4, 4))  # type: ignore[misc]
        assert blue > 200  # the colour the profile meant
        assert max(red, green) < 60


def test_a_large_colour_profile_costs_nothing_in_what_is_stored() -> None:
    out = io.BytesIO()
    profile = icc_profile_swapping_red_and_blue(padding=9 * 1024 * 1024)
    samples.gradient((8, 8)).save(out, format="JPEG", icc_profile=profile)
    assert len(out.getvalue()) > 9 * 1024 * 1024
    result = _process(out.getvalue())
    assert result.image.bytes < 10_000
    assert result.thumbnail.bytes < 10_000
    assert "icc_profile" not in _open(result.image).info


def test_a_broken_colour_profile_is_dropped_and_the_photo_kept() -> None:
    out = io.BytesIO()
    samples.gradient((64, 48)).save(out, format="JPEG", icc_profile=b"not a profile" * 10)
    result = _process(out.getvalue())
    assert (result.image.width, result.image.height) == (64, 48)
    assert "icc_profile" not in _open(result.image).info


def test_an_image_whose_decode_would_pass_the_memory_limit_is_refused_from_its_header() -> None:
    large = samples.large_png(7000, 7000)  # 49 megapixels, under the pixel limit
    limits = ImageLimits(max_decode_bytes=64 * 1024 * 1024)
    # Only the header is sent: had any pixel been decoded, this would be a truncated file.
    with pytest.raises(ImageTooLargeError) as caught:
        _process(large[:64], limits)
    assert error_code(caught.value).status == 413
    assert "MB of memory" in str(caught.value)
    with pytest.raises(InvalidImageError):  # the same header under the default limit
        _process(large[:64])


def test_a_decode_waits_until_the_budget_has_room_for_its_price() -> None:
    budget = DecodeBudget(total=100)
    holding, release, second_in = threading.Event(), threading.Event(), threading.Event()

    def first() -> None:
        with budget.reserve(80):
            holding.set()
            release.wait(5)

    def second() -> None:
        with budget.reserve(30):
            second_in.set()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(5)
    two = threading.Thread(target=second)
    two.start()
    assert not second_in.wait(0.2)  # 80 + 30 would pass the budget
    release.set()
    assert second_in.wait(5)
    one.join()
    two.join()
    assert budget.free == 100


def test_twenty_large_pngs_at_once_stay_within_the_decode_budget_and_memory_is_returned() -> None:
    # In a process of its own: resident memory is the process's, and this one holds the suite.
    done = subprocess.run(
        [sys.executable, "-m", "tests.media.decode_memory", "20"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures = json.loads(done.stdout)
    assert figures["widths"] == [2048] * 20  # each was taken, not refused
    mb = 1024 * 1024
    assert figures["peak"] - figures["before"] < 300 * mb
    # What is left is at most the freed image blocks Pillow keeps for the next decodes.
    assert figures["after"] - figures["before"] < 50 * mb + figures["kept"]


# In a process of its own, set up as the server is at start: a body-sized block (under the
# mmap threshold, so from the heap) allocated and freed again and again.
_REUSE_A_BODY_SIZED_BLOCK = """
import resource
from media.images import return_large_blocks_to_the_system
return_large_blocks_to_the_system()
size = 3 * 1024 * 1024
block = bytes(size)
del block
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    block = bytearray(size)
    block[:: 4096] = b"x" * len(block[:: 4096])
    del block
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_freed_body_sized_block_is_kept_for_the_next_one_not_faulted_in_again() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _REUSE_A_BODY_SIZED_BLOCK],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pages_per_block = 3 * 1024 * 1024 // 4096
    # Handed back on every free, each block would be faulted in page by page again: 20 times.
    assert int(done.stdout) < 2 * pages_per_block
