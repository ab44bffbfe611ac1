"""Photos of a ticket in storage and in the database: filing, proof of a reply, and the lookup
behind serving one.

Storing is two-step so callers stay all-or-nothing: ``store_photos`` writes the files before the
caller's transaction, ``insert_photo_rows`` writes their rows inside it, and ``remove_stored`` takes
the files away again if anything failed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from db.tables import ComplaintPhoto
from web.photos.pipeline import ProcessedPhoto
from web.photos.storage import PhotoStorage

log = logging.getLogger("aduan.photos")

# A stored photo: (storage key, thumbnail key, the processed photo written there).
Placed = tuple[str, str, ProcessedPhoto]


async def store_photos(
    storage: PhotoStorage, folder: str, photos: list[ProcessedPhoto], stored: list[str]
) -> list[Placed]:
    """Put each photo and its thumbnail under ``complaints/<folder>/``; ``stored`` collects the keys
    written so far, so the caller can remove them if anything later fails."""
    placed = []
    for photo in photos:
        name = uuid.uuid4().hex
        key = f"complaints/{folder}/{name}.jpg"
        thumb_key = f"complaints/{folder}/{name}_thumb.jpg"
        await storage.put(key, photo.image, photo.content_type)
        stored.append(key)
        await storage.put(thumb_key, photo.thumbnail, photo.content_type)
        stored.append(thumb_key)
        placed.append((key, thumb_key, photo))
    return placed


async def insert_photo_rows(
    complaint_id: int,
    placed: list[Placed],
    *,
    kind: str,
    now: datetime,
    event_id: int | None = None,
) -> None:
    """Rows for photos already in storage (from ``store_photos``); runs in the caller's transaction."""
    if not placed:
        return
    await ComplaintPhoto.insert(
        *[
            ComplaintPhoto(
                complaint=complaint_id,
                event=event_id,
                kind=kind,
                position=position,
                storage_key=key,
                thumb_key=thumb_key,
                width=photo.width,
                height=photo.height,
                size_bytes=len(photo.image),
                created_at=now,
            )
            for position, (key, thumb_key, photo) in enumerate(placed)
        ]
    )


async def remove_stored(storage: PhotoStorage, keys: list[str]) -> None:
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:  # keep cleaning up; the original error is what the user needs to see
            log.exception("could not remove photo %s after a failed save", key)


async def photo_with_ticket(photo_id: int) -> dict | None:
    """A photo's storage keys and what access is decided on: its ticket's number, reporter and OPD
    (the keys ``may_see`` reads)."""
    return (
        await ComplaintPhoto.select(
            ComplaintPhoto.storage_key,
            ComplaintPhoto.thumb_key,
            ComplaintPhoto.complaint.number.as_alias("number"),
            ComplaintPhoto.complaint.citizen.as_alias("citizen"),
            ComplaintPhoto.complaint.opd.as_alias("opd"),
        )
        .where(ComplaintPhoto.id == photo_id)
        .first()
    )
