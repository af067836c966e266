"""Real image files for the upload tests, made with Pillow (and by hand where Pillow would need
the memory the file is meant to make a server spend)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image, PngImagePlugin

GPS_IFD = 0x8825
ORIENTATION = 0x0112
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="51,30.0N"/></rdf:RDF></x:xmpmeta>'
)


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A picture with some detail, so encoders have work to do and sizes are realistic."""
    image = Image.linear_gradient("L").resize(size)
    if mode == "L":
        return image
    red = image
    green = image.transpose(Image.Transpose.ROTATE_90).resize(size)
    blue = Image.radial_gradient("L").resize(size)
    rgb = Image.merge("RGB", (red, green, blue))
    return rgb if mode == "RGB" else rgb.convert(mode)


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "Jane Customer"  # Artist
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 26.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    return exif


def jpeg(
    size: tuple[int, int] = (640, 480),
    *,
    orientation: int = 1,
    mode: str = "RGB",
    quality: int = 90,
    metadata: bool = True,
) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"quality": quality}
    if metadata:
        options["exif"] = exif_with_gps(orientation).tobytes()
        options["xmp"] = XMP
    gradient(size, mode if mode != "CMYK" else "RGB").convert(mode).save(
        out, format="JPEG", **options
    )
    return out.getvalue()


def png(size: tuple[int, int] = (400, 300), *, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Customer")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    image = (
        gradient(size, "RGB").convert(mode) if mode not in ("RGB", "L") else gradient(size, mode)
    )
    image.save(out, format="PNG", pnginfo=info, exif=exif_with_gps().tobytes())
    return out.getvalue()


def webp(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    gradient(size).save(out, format="WEBP", exif=exif_with_gps().tobytes(), xmp=XMP)
    return out.getvalue()


def zip_renamed_jpg() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff\xe0 not really")
    return out.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
    b'<circle cx="50" cy="50" r="40" fill="red"/></svg>'
)


def gif() -> bytes:
    out = io.BytesIO()
    gradient((50, 50)).save(out, format="GIF")
    return out.getvalue()


def truncated_jpeg() -> bytes:
    whole = jpeg((800, 600), metadata=False)
    return whole[: len(whole) // 2]


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A 1-bit PNG of `width` x `height` white pixels: some 50 KB on disk, hundreds of MB once
    decoded. Written chunk by chunk, since Pillow would need that memory to make it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter type 0, then the packed pixels
    compressor = zlib.compressobj(9)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def large_png(width: int = 7000, height: int = 7000) -> bytes:
    """An 8-bit RGB PNG of `width` x `height` (49 megapixels by default): a couple of hundred KB
    on disk, four bytes a pixel once Pillow decodes it. Written by hand, row by row."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    row = b"\x00" + bytes(range(256)) * (width * 3 // 256) + b"\x80" * (width * 3 % 256)
    compressor = zlib.compressobj(6)
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def mpo(size: tuple[int, int] = (640, 480)) -> bytes:
    """A multi-picture JPEG as phones write it: the photo, then a second picture, with EXIF."""
    out = io.BytesIO()
    gradient(size).save(
        out,
        format="MPO",
        save_all=True,
        append_images=[gradient((size[0] // 2, size[1] // 2))],
        exif=exif_with_gps().tobytes(),
    )
    return out.getvalue()
