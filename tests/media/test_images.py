"""Uploaded photos: decoded to prove they are images, re-encoded without EXIF or XMP (GPS
included), upright, bounded, with a thumbnail; everything else refused with its HTTP answer."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from domain.uploads import (
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedImageError,
    UploadRejectedError,
)
from media.images import MAX_PIXELS, ImageLimits, ProcessedImage, Rendition, process_image
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
