"""One clock: every moment the app stores comes from Python's clock, never the database's.

PostgreSQL's ``now()`` and the columns' DDL defaults (``DEFAULT CURRENT_TIMESTAMP``) would follow
the database server's clock. scripts/test runs this module again with the process clock moved
(faketime) while PostgreSQL keeps the real one, so a timestamp taken from the database shows up
there as a moment before the test began.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from piccolo.columns import Timestamptz

from tests.conftest import MUTABLE_TABLES
from tests.factories import complaint_form
from tests.helpers import db, post_form, register
from tests.staff_helpers import make_staff, staff_sign_in
from web.workflow.service import Actor, act

pytestmark = pytest.mark.clock


async def stored_moments() -> list[tuple[str, datetime]]:
    moments = []
    for table in MUTABLE_TABLES:
        columns = [c for c in table._meta.columns if isinstance(c, Timestamptz)]
        if not columns:
            continue
        for row in await table.select(*columns):
            moments += [
                (f"{table._meta.tablename}.{name}", value)
                for name, value in row.items()
                if value is not None
            ]
    return moments


def test_every_stored_moment_comes_from_the_apps_clock(make_client):
    before = datetime.now(UTC)
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", complaint_form())
    assert filed.status_code == 200
    number = filed.url.path.rsplit("/", 1)[-1]
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    db(
        operator,
        lambda: act(
            number, "verify", Actor(kind="system", id=None, role="operator"), expected_version=1
        ),
    )
    after = datetime.now(UTC)

    moments = db(operator, stored_moments)
    written = {name.split(".")[0] for name, _ in moments}
    assert {"complaint", "timeline_event", "audit_log", "citizen", "http_session"} <= written
    for name, value in moments:
        # Expiry times lie ahead (sessions, codes); nothing may lie before the test began.
        assert before - timedelta(seconds=1) <= value <= after + timedelta(days=400), (
            name,
            value,
            before,
        )
    created = [value for name, value in moments if name.endswith(".created_at")]
    assert created and all(before - timedelta(seconds=1) <= v <= after for v in created)
