"""Uploaded photos through the pipeline, in worker threads, with a numbered error per bad photo."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Protocol

from anyio import to_thread

from web.forms import FormErrors
from web.i18n import _
from web.photos.pipeline import PhotoRejected, ProcessedPhoto, process_photo
from web.settings import Settings


class Upload(Protocol):
    filename: str

    async def read(self, size: int = -1) -> bytes: ...


async def process_uploads(uploads: Sequence[Upload], settings: Settings) -> list[ProcessedPhoto]:
    """Check and re-encode every photo, or raise FormErrors on ``photos`` naming the bad one.

    Reads at most one byte past the size limit, so an oversize file is never held in memory whole.
    """
    if len(uploads) > settings.photos_per_complaint:
        raise FormErrors.single("photos", too_many_photos(settings.photos_per_complaint))
    processed = []
    for position, upload in enumerate(uploads, start=1):
        raw = await upload.read(settings.photo_max_bytes + 1)
        try:
            processed.append(
                await to_thread.run_sync(
                    partial(
                        process_photo,
                        raw,
                        max_bytes=settings.photo_max_bytes,
                        max_pixels=settings.photo_max_pixels,
                    )
                )
            )
        except PhotoRejected as exc:
            raise FormErrors.single(
                "photos", photo_refused(position, upload.filename, exc.message)
            ) from exc
    return processed


# Messages the filing form also shows from the phone (complaints.forms.client_rules).
def too_many_photos(limit: int) -> str:
    return _("Paling banyak %(n)s foto per laporan.", n=limit)


def photo_refused(position: int | str, filename: str, reason: str) -> str:
    return (
        _("Foto ke-%(n)s (%(name)s): %(reason)s", n=position, name=filename, reason=reason)
        + " "
        + _("Laporan belum terkirim; pilih ulang foto Anda.")
    )
