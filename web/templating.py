"""Jinja set-up: page templates in web/templates, reusable pieces in components/."""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_datetime, parse_pattern
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from web import i18n, vocabulary
from web.assets import AssetManifest
from web.complaints.forms import client_rules
from web.complaints.questions import field_name, shown_field, shown_marker, stored_answers
from web.inbox.queries import DUPLICATE_RADIUS_M
from web.settings import PROJECT_ROOT, Settings
from web.staff.policy import can
from web.vocabulary import status_label
from web.workflow.lifecycle import reject_reason_label
from web.workflow.sla import sla_label
from web.workflow.status import DONE, STATUSES

_SIMPLE_FIELDS = {
    "d": lambda v, loc: str(v.day),
    "dd": lambda v, loc: f"{v.day:02d}",
    "MMM": lambda v, loc: loc.months["format"]["abbreviated"][v.month],
    "MMMM": lambda v, loc: loc.months["format"]["wide"][v.month],
    "yyyy": lambda v, loc: str(v.year),
    "HH": lambda v, loc: f"{v.hour:02d}",
    "mm": lambda v, loc: f"{v.minute:02d}",
}


@cache
def _pattern(fmt: str) -> tuple[str, tuple[str, ...]] | None:
    """The %-format string and field names of a date pattern, if every field is a simple one."""
    pattern = parse_pattern(fmt)
    text = str(pattern.format)  # babel's stubs say DateTimeFormat; it is the %-format string
    fields = tuple(re.findall(r"%\((\w+)\)s", text))
    return (text, fields) if set(fields) <= _SIMPLE_FIELDS.keys() else None


@cache
def _babel_locale(code: str) -> Locale:
    return Locale.parse(code)


def format_local(value: datetime, fmt: str, locale_code: str) -> str:
    """Babel's format_datetime, short-cut for day/month/year/hour/minute patterns.

    A list page formats a date per row; Babel's general formatter was a tenth of its time.
    """
    locale = _babel_locale(locale_code)
    simple = _pattern(fmt)
    if simple is None:
        return format_datetime(value, fmt, locale=locale)
    template, fields = simple
    return template % {name: _SIMPLE_FIELDS[name](value, locale) for name in fields}


TEMPLATE_DIRS = [PROJECT_ROOT / "web" / "templates", PROJECT_ROOT / "components"]


def make_template_config(settings: Settings, city, assets: AssetManifest) -> TemplateConfig:
    tz = ZoneInfo(city.timezone)

    def local_time(value: datetime | None, fmt: str = "d MMM yyyy, HH.mm") -> str:
        if value is None:
            return ""
        return format_local(value.astimezone(tz), fmt, i18n.get_locale())

    def iso_time(value: datetime) -> str:
        return value.astimezone(tz).isoformat(timespec="minutes")

    def configure(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.add_extension("jinja2.ext.i18n")
        # Added to the environment by the i18n extension above, so unknown to the stubs.
        env.install_gettext_callables(  # type: ignore[attr-defined]
            lambda message: i18n.gettext(message),
            lambda singular, plural, n: i18n.ngettext(singular, plural, n),
            newstyle=True,
        )
        env.globals.update(
            static_url=assets.url,
            city=city,
            current_locale=i18n.get_locale,
            app_name="Aduan",
            map_tile_url=settings.map_tile_url,
            map_tile_attribution=settings.map_tile_attribution,
            status_label=status_label,
            # Rules and limits the pages show, from their one home (never retyped in a template).
            statuses=STATUSES,
            done_statuses=DONE,
            photos_per_complaint=settings.photos_per_complaint,
            # Called while rendering, so the messages come in the request's language.
            # categories: the form's list, with each category's questions.
            complaint_rules=lambda categories=(): client_rules(
                city,
                max_photos=settings.photos_per_complaint,
                photo_max_bytes=settings.photo_max_bytes,
                questions={c["slug"]: c["questions"] for c in categories},
            ),
            stored_answers=stored_answers,
            question_field=field_name,
            shown_field=shown_field,
            shown_marker=shown_marker,
            duplicate_radius_m=DUPLICATE_RADIUS_M,
            event_label=vocabulary.event_label,
            classification_label=vocabulary.classification_label,
            classification_hint=vocabulary.classification_hint,
            privacy_label=vocabulary.privacy_label,
            privacy_hint=vocabulary.privacy_hint,
            channel_label=vocabulary.channel_label,
            channel_text=vocabulary.channel_text,
            localized=vocabulary.localized,
            old_codes_of=vocabulary.old_codes_of,
            sla_label=sla_label,
            reject_reason_label=reject_reason_label,
            can=can,  # templates ask the policy, never name roles
        )
        env.filters["local_time"] = local_time
        env.filters["iso_time"] = iso_time
        env.filters["nl2br"] = lambda text: Markup("<br>").join(text.splitlines())
        env.trim_blocks = True
        env.lstrip_blocks = True

    return TemplateConfig(
        directory=[*TEMPLATE_DIRS], engine=JinjaTemplateEngine, engine_callback=configure
    )
