"""The writing side of Open311 and the admin pages for its keys, as one list for the app factory."""

from litestar.handlers import HTTPRouteHandler
from litestar.router import Router

from web.open311 import admin_keys, filing

ROUTES: list[HTTPRouteHandler | Router] = [*filing.ROUTES, *admin_keys.ROUTES]
