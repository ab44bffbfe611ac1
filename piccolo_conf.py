"""Piccolo's entry point: the engine comes from ADUAN_DATABASE_URL (see web/settings.py)."""

from piccolo.conf.apps import AppRegistry

from db.engine import make_engine
from web.settings import get_settings

DB = make_engine(get_settings())

APP_REGISTRY = AppRegistry(apps=["db.piccolo_app"])
