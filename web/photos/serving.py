"""How a stored photo goes back to a browser: one answer for citizens and staff alike."""

from __future__ import annotations

from litestar.response import Response

# Photos of complaints are personal (faces, houses, plates) and most tickets are not public: a
# shared phone or office PC must not keep them after sign-out, and nothing may sniff them as HTML.
PRIVATE_PHOTO_HEADERS = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def photo_response(data: bytes) -> Response:
    """A stored photo (always re-encoded to JPEG by the pipeline), never cached."""
    return Response(content=data, media_type="image/jpeg", headers=PRIVATE_PHOTO_HEADERS)
