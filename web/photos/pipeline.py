"""Turn an uploaded photo into a clean JPEG and a thumbnail.

Plain Python, no framework imports. Pillow work is CPU-bound and blocking: callers run
``process_photo`` in a worker thread (``anyio.to_thread.run_sync``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from web.errors import UserError
from web.i18n import _

try:
    from pillow_heif import register_heif_opener
except ImportError:  # without pillow_heif, HEIC is simply not accepted
    HEIF_SUPPORTED = False
else:
    register_heif_opener()
    HEIF_SUPPORTED = True

# Only these decoders ever see an upload: fewer parsers, smaller attack surface.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", *(("HEIF",) if HEIF_SUPPORTED else ()))
JPEG_QUALITY = 82
_SRGB = ImageCms.createProfile("sRGB")


class PhotoRejected(UserError):
    """The upload is not a photo we accept; ``message`` is user-facing text."""


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes
    thumbnail: bytes
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    content_type: str = "image/jpeg"


def process_photo(
    raw: bytes,
    *,
    max_bytes: int,
    max_pixels: int,
    max_side: int = 1600,
    thumb_side: int = 320,
) -> ProcessedPhoto:
    """Check ``raw`` by its content, then re-encode it upright, as sRGB JPEG, with no metadata.

    Raises ``PhotoRejected`` for empty, too large, non-photo, bomb-like or corrupt input.
    """
    if not raw:
        raise PhotoRejected(empty_photo())
    if len(raw) > max_bytes:
        raise PhotoRejected(photo_too_large(max_bytes))
    # Pillow warns from MAX_IMAGE_PIXELS and raises from twice that; warnings.catch_warnings
    # is process-wide and not thread-safe, so apply the lower of both limits ourselves instead.
    pixel_limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        im = Image.open(io.BytesIO(raw), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError:
        raise PhotoRejected(_("Ukuran foto dalam piksel terlalu besar.")) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PhotoRejected(_not_a_photo()) from None

    with im:
        width, height = im.size
        if width * height > pixel_limit:  # before any pixel is decoded
            raise PhotoRejected(_("Ukuran foto dalam piksel terlalu besar."))
        try:
            if im.format in ("JPEG", "MPO"):
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: much less memory and CPU for camera
                # photos. Asked for the size the photo will have (not a square of max_side, which
                # a 4:3 photo's short side never reaches), a 12 MP photo decodes at a quarter.
                im.draft("RGB", _fitted(im.size, max_side))
            icc_profile = im.info.get("icc_profile")
            upright = ImageOps.exif_transpose(im)
            rgb = _flatten(upright)
        except Image.DecompressionBombError:
            raise PhotoRejected(_("Ukuran foto dalam piksel terlalu besar.")) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError):
            raise PhotoRejected(_("Foto rusak atau tidak lengkap. Coba ambil ulang.")) from None

    rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # never upscales
    # The colour conversion after shrinking: it costs per pixel (170 ms of CPU at 12 MP).
    rgb = _to_srgb(rgb, icc_profile)
    thumb = rgb.copy()
    thumb.thumbnail((thumb_side, thumb_side), Image.Resampling.LANCZOS)
    return ProcessedPhoto(
        image=_encode_jpeg(rgb),
        thumbnail=_encode_jpeg(thumb),
        width=rgb.width,
        height=rgb.height,
        thumb_width=thumb.width,
        thumb_height=thumb.height,
    )


# The two reasons a phone can see before sending (the filing form checks them too, same words).
def empty_photo() -> str:
    return _("Berkas foto kosong. Pilih foto lain.")


def photo_too_large(max_bytes: int) -> str:
    return _(
        "Foto terlalu besar (lebih dari %(mb)s MB). Kecilkan atau pilih foto lain.",
        mb=megabytes(max_bytes),
    )


def _not_a_photo() -> str:
    if HEIF_SUPPORTED:
        return _("Berkas ini bukan foto. Gunakan JPEG, PNG, WebP, atau HEIC.")
    return _("Berkas ini bukan foto. Gunakan JPEG, PNG, atau WebP.")


def megabytes(n: int) -> str:
    # Indonesian writes decimals with a comma: 2,5 MB.
    return f"{round(n / (1024 * 1024), 1):g}".replace(".", ",")


def _fitted(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``size`` shrunk to fit a square of ``max_side``, keeping its shape (never enlarged)."""
    width, height = size
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _flatten(im: Image.Image) -> Image.Image:
    """RGB with any transparency laid on white (JPEG has no alpha; black would look broken)."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if im.mode.startswith("I;16"):
        # 16-bit PNGs: Pillow has no direct 16-bit to RGB conversion.
        im = im.point(lambda v: v / 256).convert("L")
    return im.convert("RGB")


def _to_srgb(im: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Bake a colour profile (e.g. iPhone Display P3) into the pixels, since we drop the profile."""
    if not icc_profile:
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        if source.profile.xcolor_space.strip() != "RGB":
            return im
        if (source.profile.profile_description or "").startswith("sRGB"):
            return im  # already sRGB: the transform would change nothing
        converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # a broken profile is no reason to refuse the photo
    return converted if converted is not None else im


def _encode_jpeg(im: Image.Image) -> bytes:
    # Fresh info: Pillow copies some of it (comments) into the JPEG otherwise.
    im.info = {}
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return buffer.getvalue()
