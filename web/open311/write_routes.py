"""The admin pages for Open311's API keys, as one list for the app factory (the filing routes live in
routes.py's /open311/v2 Router, beside the reading routes of the same paths)."""

from litestar.handlers import HTTPRouteHandler
from litestar.router import Router

from web.open311 import admin_keys

ROUTES: list[HTTPRouteHandler | Router] = [*admin_keys.ROUTES]
