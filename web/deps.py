"""What handlers need from the running app, in one place: settings, city, storage, messenger, citizen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from litestar import Request
from litestar.exceptions import HTTPException

from db.city_data import City
from web.messaging.messenger import Messenger
from web.photos.storage import PhotoStorage
from web.sessions import CITIZEN_KEY
from web.settings import Settings

SESSION_CITIZEN = CITIZEN_KEY


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    city: City
    storage: PhotoStorage
    messenger: Messenger
    # "Now" for the handlers that read it from here (the Open311 API so far): a test can move it.
    clock: Callable[[], datetime] = field(default=utc_now)


def services(request: Request) -> Services:
    return request.app.state.services


def city_tz(request: Request) -> ZoneInfo:
    """The city's time zone: days, shifts and report times are in city time."""
    return ZoneInfo(services(request).city.timezone)


class SignInRequired(HTTPException):
    status_code = 401


async def current_citizen_id(request: Request) -> int | None:
    citizen_id = (
        request.session.get(SESSION_CITIZEN) if request.scope.get("session") is not None else None
    )
    return citizen_id if isinstance(citizen_id, int) else None


async def require_citizen(request: Request) -> int:
    """Dependency for citizen-only pages; the exception handler turns this into a sign-in redirect."""
    citizen_id = await current_citizen_id(request)
    if citizen_id is None:
        raise SignInRequired()
    return citizen_id
