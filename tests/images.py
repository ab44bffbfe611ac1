"""Test images built in memory with Pillow, so no binary fixtures live in the repository."""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache
from typing import Any

from PIL import ExifTags, Image, ImageDraw

# Cilegon city hall, roughly: what a phone would write into a photo's GPS block.
GPS_LATITUDE = (6.0, 1.0, 2.0)
GPS_LONGITUDE = (106.0, 3.0, 21.0)


def _camera_scene(width: int, height: int) -> Image.Image:
    """A picture whose stored top edge is red, so tests can tell which way it was turned."""
    im = Image.new("RGB", (width, height), (40, 120, 60))
    draw = ImageDraw.Draw(im)
    draw.rectangle((0, 0, width, height // 10), fill=(220, 20, 20))
    draw.ellipse((width // 3, height // 3, width // 2, height // 2), fill=(20, 40, 200))
    return im


def jpeg_with_exif_gps(width: int = 4000, height: int = 3000, orientation: int = 6) -> bytes:
    """A camera-like JPEG: GPS position, make/model, date, orientation, comment, ICC profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "samsung"
    exif[ExifTags.Base.Model] = "Galaxy A15"
    exif[ExifTags.Base.DateTime] = "2025:03:14 09:26:53"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    buffer = io.BytesIO()
    _camera_scene(width, height).save(
        buffer,
        "JPEG",
        quality=90,
        exif=exif,
        comment=b"taken at home",
        icc_profile=_srgb_icc(),
    )
    return buffer.getvalue()


def png_bytes(
    width: int = 800, height: int = 600, mode: str = "RGBA", colour: Any = (0, 0, 255, 0)
) -> bytes:
    """A PNG; by default fully transparent blue, so a flattened result must come out white."""
    buffer = io.BytesIO()
    Image.new(mode, (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def webp_bytes(width: int = 1200, height: int = 900) -> bytes:
    buffer = io.BytesIO()
    _camera_scene(width, height).save(buffer, "WEBP", quality=80)
    return buffer.getvalue()


def heic_bytes(width: int = 640, height: int = 480) -> bytes:
    """Raises if pillow_heif is missing or has no encoder: callers skip then."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    _camera_scene(width, height).save(buffer, "HEIF", quality=80)
    return buffer.getvalue()


@lru_cache(maxsize=4)
def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid one-colour 1-bit PNG: a few hundred KB on disk, ``width * height`` pixels decoded.

    Written by hand because building it with Pillow would allocate every pixel first.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    compressor = zlib.compressobj(9)
    rows_per_chunk = 1000
    idat = b"".join(
        compressor.compress(row * min(rows_per_chunk, height - start))
        for start in range(0, height, rows_per_chunk)
    )
    idat += compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def not_an_image() -> bytes:
    """A PDF, the most likely wrong file a citizen picks."""
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def oversize_bytes(limit: int) -> bytes:
    """One byte over ``limit``, starting like a JPEG so only the size can be the reason."""
    head = b"\xff\xd8\xff\xe0"
    return head + b"\x00" * (limit + 1 - len(head))


def exif_of(jpeg: bytes) -> dict[str, Any]:
    """EXIF tags by name, with the GPS block under "GPSInfo" when present; {} when none."""
    with Image.open(io.BytesIO(jpeg)) as im:
        exif = im.getexif()
        tags: dict[str, Any] = {ExifTags.TAGS.get(k, str(k)): v for k, v in exif.items()}
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        if gps:
            tags["GPSInfo"] = {ExifTags.GPSTAGS.get(k, str(k)): v for k, v in gps.items()}
        return tags


def jpeg_markers(jpeg: bytes) -> list[int]:
    """Marker bytes of the JPEG segments before the image data (0xE1 = EXIF/XMP, 0xFE = comment)."""
    assert jpeg[:2] == b"\xff\xd8", "not a JPEG"
    markers, pos = [], 2
    while pos < len(jpeg):
        marker = jpeg[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        pos += 2 + length
    return markers


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def swapped_primaries_icc() -> bytes:
    """An RGB profile that is not sRGB: sRGB's with its red and blue primaries swapped (tag table
    entries exchanged) and renamed, so a pixel stored as red means blue."""
    icc = bytearray(_srgb_icc())
    (count,) = struct.unpack(">I", icc[128:132])
    entries = {bytes(icc[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"] + 4, entries[b"bXYZ"] + 4
    icc[red : red + 8], icc[blue : blue + 8] = icc[blue : blue + 8], icc[red : red + 8]
    return bytes(icc).replace("sRGB".encode("utf-16-be"), "BGRs".encode("utf-16-be"))


def jpeg_with_profile(colour: tuple[int, int, int], icc_profile: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(buffer, "JPEG", quality=95, icc_profile=icc_profile)
    return buffer.getvalue()


def textured_camera_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A 12-megapixel photo with camera-like texture (noise over gradients), EXIF GPS included.

    A flat test picture compresses to almost nothing; this one is several MB, like a phone's,
    so a size budget for the downscaled upload means something.
    """
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 48)
    red = Image.blend(gradient, noise, 0.35)
    green = Image.blend(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), noise, 0.3)
    blue = Image.blend(gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM), noise, 0.4)
    scene = Image.merge("RGB", (red, green, blue))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "samsung"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = GPS_LONGITUDE
    buffer = io.BytesIO()
    scene.save(buffer, "JPEG", quality=92, exif=exif)
    return buffer.getvalue()
