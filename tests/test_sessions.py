"""The database session store: shared by all web processes, and quiet when nothing changed."""

from __future__ import annotations

import pytest

from db.tables import HttpSession
from tests.helpers import db
from tests.query_counter import count_queries
from tests.staff_helpers import make_staff, staff_sign_in
from web.staff.access import SESSION_STAFF


def _session_writes(statements: list[str]) -> list[str]:
    return [
        s
        for s in statements
        if "http_session" in s and s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]


def test_reading_pages_does_not_write_the_session(make_client):
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    operator.get("/operator")
    with count_queries() as seen:
        for _ in range(3):
            assert operator.get("/operator").status_code == 200
    assert _session_writes(seen) == []


@pytest.mark.clock
def test_a_session_changed_in_one_process_is_seen_and_saved_by_another(make_client):
    first = make_client()
    make_staff(first, "operator")
    staff_sign_in(first, "operator-kota")
    # A second app instance stands for a second web process with its own store.
    second = make_client()
    second.cookies.update(first.cookies)
    assert second.get("/operator").status_code == 200

    # Signed out in the second process: the first one must not bring the session back.
    signed_out = second.post(
        "/staf/keluar", headers={"x-csrftoken": second.cookies.get("csrftoken", "")}
    )
    assert signed_out.status_code in (200, 303)
    first.cookies.update(second.cookies)
    response = first.get("/operator", follow_redirects=False)
    assert response.status_code in (302, 303, 401)
    stored = db(first, lambda: HttpSession.select(HttpSession.data))
    assert not any(SESSION_STAFF.encode() in bytes(row["data"]) for row in stored)
