"""How a stored photo goes back to a browser: one answer for citizens and staff alike.

Each photo route first decides whether the person may see the photo (``may_see`` on its ticket, the
same rule as the ticket's page) and then hands over to ``serve_photo``. The headers, the 404 and
the compression choice (``PHOTO_ROUTE_OPT``, carried by every photo route) are decided here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from litestar.exceptions import NotFoundException
from litestar.response import Response

from web.i18n import _
from web.photos.storage import PhotoStorage, StorageError

# Photos of complaints are personal (faces, houses, plates) and most tickets are not public: a
# shared phone or office PC must not keep them after sign-out, and nothing may sniff them as HTML.
PRIVATE_PHOTO_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}

# The route option that keeps a response out of gzip (the app's CompressionConfig.exclude_opt_key).
SKIP_COMPRESSION = "skip_compression"
# Every photo route carries it: a JPEG does not shrink under gzip, it only costs CPU on both ends.
PHOTO_ROUTE_OPT: Mapping[str, bool] = MappingProxyType({SKIP_COMPRESSION: True})


async def serve_photo(storage: PhotoStorage, photo: dict | None, *, thumb: bool) -> Response:
    """The stored photo, or its thumbnail, as the browser gets it (always a JPEG: the pipeline
    re-encodes every upload), never cached.

    ``photo`` is a row with ``storage_key`` and ``thumb_key``, or None when there is no such photo
    or the person may not see it: both answer the same 404, so nobody learns which photos exist.
    """
    if photo is None:
        raise NotFoundException(_("Foto tidak ditemukan."))
    try:
        data = await storage.get(photo["thumb_key"] if thumb else photo["storage_key"])
    except (KeyError, StorageError) as exc:
        raise NotFoundException(_("Foto tidak ditemukan.")) from exc
    return Response(content=data, media_type="image/jpeg", headers=PRIVATE_PHOTO_HEADERS)
