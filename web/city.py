"""The city this deployment serves, loaded once from its data file (``ADUAN_CITY``)."""

from __future__ import annotations

from functools import lru_cache

from db.city_data import City, load_city
from web.settings import Settings, get_settings


@lru_cache(maxsize=4)
def _load(slug: str) -> City:
    return load_city(slug)


def get_city(settings: Settings | None = None) -> City:
    return _load((settings or get_settings()).city)


def nik_prefix_policy(settings: Settings, city: City) -> str:
    """The setting wins when set; otherwise the city's data file decides."""
    return settings.nik_prefix_policy or city.nik_prefix_policy
