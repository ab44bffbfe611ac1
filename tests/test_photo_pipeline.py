"""The photo pipeline: what goes in is checked by content, what comes out carries no metadata."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.images import (
    _srgb_icc,
    bomb_png,
    exif_of,
    heic_bytes,
    jpeg_markers,
    jpeg_with_exif_gps,
    jpeg_with_profile,
    not_an_image,
    oversize_bytes,
    png_bytes,
    swapped_primaries_icc,
    webp_bytes,
)
from web.photos.pipeline import HEIF_SUPPORTED, PhotoRejected, ProcessedPhoto, process_photo

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
# Segments a plain JPEG needs; APP1 (EXIF, XMP), APP2 (ICC), COM and the rest must be gone.
PLAIN_JPEG_MARKERS = {0xE0, 0xDB, 0xC0, 0xC2, 0xC4, 0xDD, 0xDA}


def process(raw: bytes, **limits: int) -> ProcessedPhoto:
    limits = {"max_bytes": MAX_BYTES, "max_pixels": MAX_PIXELS, **limits}
    return process_photo(raw, **limits)


def opened(jpeg: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(jpeg))
    assert im.format == "JPEG"
    return im


def assert_clean_jpeg(jpeg: bytes) -> None:
    assert exif_of(jpeg) == {}
    assert set(jpeg_markers(jpeg)) <= PLAIN_JPEG_MARKERS
    im = opened(jpeg)
    assert "icc_profile" not in im.info
    assert "comment" not in im.info
    assert b"Exif" not in jpeg and b"http://ns.adobe.com/xap" not in jpeg


def test_camera_photo_is_turned_upright_shrunk_and_stripped():
    raw = jpeg_with_exif_gps(4000, 3000, orientation=6)
    assert "GPSInfo" in exif_of(raw)  # the fixture really carries a position

    photo = process(raw)

    assert_clean_jpeg(photo.image)
    assert_clean_jpeg(photo.thumbnail)
    assert photo.content_type == "image/jpeg"
    assert (photo.width, photo.height) == (1200, 1600)  # portrait after orientation 6
    im = opened(photo.image)
    assert im.size == (photo.width, photo.height)
    assert im.info.get("progressive") or im.info.get("progression")
    # Orientation 6 turns the stored top edge (red) to the right-hand side.
    red, green, _ = im.convert("RGB").getpixel((photo.width - 5, photo.height // 2))
    assert red > 180 and green < 80
    thumb = opened(photo.thumbnail)
    assert max(thumb.size) == 320
    assert thumb.size == (photo.thumb_width, photo.thumb_height) == (240, 320)


def test_colours_of_a_photo_in_another_colour_space_come_out_as_its_profile_means_them():
    # The profile is dropped from the output, so its colours are converted into sRGB first (an
    # iPhone's Display P3 photo would look dull otherwise); an sRGB photo keeps its own.
    red = (220, 30, 30)
    photo = process(jpeg_with_profile(red, swapped_primaries_icc()))
    assert_clean_jpeg(photo.image)
    r, _, b = opened(photo.image).convert("RGB").getpixel((400, 300))
    assert b > 200 and r < 50  # stored as red, meant as blue
    kept = opened(process(jpeg_with_profile(red, _srgb_icc())).image).convert("RGB")
    assert all(abs(x - y) <= 3 for x, y in zip(kept.getpixel((400, 300)), red, strict=True))


def test_small_photo_is_not_upscaled():
    photo = process(jpeg_with_exif_gps(640, 480, orientation=1))
    assert (photo.width, photo.height) == (640, 480)
    assert (photo.thumb_width, photo.thumb_height) == (320, 240)
    assert_clean_jpeg(photo.image)


def test_png_transparency_is_flattened_onto_white():
    photo = process(png_bytes(800, 600, mode="RGBA", colour=(0, 0, 255, 0)))
    assert (photo.width, photo.height) == (800, 600)
    r, g, b = opened(photo.image).convert("RGB").getpixel((400, 300))
    assert min(r, g, b) > 245


def test_palette_and_16_bit_pngs_are_accepted():
    assert process(png_bytes(100, 100, mode="P", colour=3)).width == 100
    grey = opened(process(png_bytes(100, 100, mode="I;16", colour=32768)).image)
    assert 120 < grey.convert("L").getpixel((50, 50)) < 136


def test_webp_is_accepted():
    photo = process(webp_bytes(1200, 900))
    assert (photo.width, photo.height) == (1200, 900)
    assert_clean_jpeg(photo.image)


def test_heic_is_accepted_when_supported():
    if not HEIF_SUPPORTED:
        pytest.skip("pillow_heif is not installed")
    try:
        raw = heic_bytes(640, 480)
    except (ImportError, OSError, KeyError, ValueError) as exc:
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    photo = process(raw)
    assert (photo.width, photo.height) == (640, 480)
    assert_clean_jpeg(photo.image)


@pytest.mark.parametrize(
    "raw",
    [
        not_an_image(),
        b"just some text, renamed to foto.jpg",
        b"\xff\xd8\xff",  # a JPEG signature and nothing else
    ],
)
def test_files_that_are_not_photos_are_refused(raw):
    with pytest.raises(PhotoRejected) as info:
        process(raw)
    assert info.value.message.startswith("Berkas ini bukan foto. Gunakan JPEG, PNG, WebP")


def test_a_gif_is_refused_even_though_pillow_reads_it():
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    with pytest.raises(PhotoRejected, match="bukan foto"):
        process(buffer.getvalue())


def test_empty_upload_is_refused():
    with pytest.raises(PhotoRejected, match="kosong"):
        process(b"")


def test_oversize_upload_is_refused_with_the_limit_in_megabytes():
    with pytest.raises(PhotoRejected) as info:
        process(oversize_bytes(MAX_BYTES))
    assert info.value.message == (
        "Foto terlalu besar (lebih dari 10 MB). Kecilkan atau pilih foto lain."
    )
    with pytest.raises(PhotoRejected, match=r"lebih dari 2,5 MB"):
        process(oversize_bytes(int(2.5 * 1024 * 1024)), max_bytes=int(2.5 * 1024 * 1024))


def test_decompression_bomb_is_refused():
    raw = bomb_png()  # 30000 x 30000: beyond Pillow's own hard limit
    assert len(raw) < MAX_BYTES
    with pytest.raises(PhotoRejected) as info:
        process(raw)
    assert info.value.message == "Ukuran foto dalam piksel terlalu besar."


def test_pixel_limit_is_checked_before_decoding():
    # 8000 x 8000 = 64 Mpx: under Pillow's limit, over ours. The pixel data is cut off, so
    # decoding would have produced the "corrupt" message instead.
    raw = bomb_png(8000, 8000)[:-100]
    with pytest.raises(PhotoRejected, match="piksel terlalu besar"):
        process(raw)


def test_truncated_jpeg_is_refused():
    raw = jpeg_with_exif_gps(1200, 900, orientation=1)
    with pytest.raises(PhotoRejected) as info:
        process(raw[: len(raw) // 2])
    assert info.value.message == "Foto rusak atau tidak lengkap. Coba ambil ulang."
