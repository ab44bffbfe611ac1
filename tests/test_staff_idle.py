"""Staff idle sign-out: the inbox's own refreshes do not keep an unattended PC signed in.

Time is moved by rewriting the last-activity stamp in the session row relative to the real clock,
so these tests hold on any date and at any hour.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from db.tables import HttpSession
from tests.helpers import db, soup
from tests.staff_helpers import make_staff, staff_sign_in
from web.staff.access import SESSION_SEEN

IDLE_MINUTES = 30
IDLE = IDLE_MINUTES * 60


def _row_data(client) -> dict:
    key = client.cookies["session"]
    row = db(
        client, lambda: HttpSession.select(HttpSession.data).where(HttpSession.key == key).first()
    )
    return json.loads(bytes(row["data"])) if row else {}


def _idle_for(client, seconds: float) -> None:
    """Make the session's last activity ``seconds`` ago (by the real clock)."""
    key = client.cookies["session"]
    data = _row_data(client)
    data[SESSION_SEEN] = datetime.now(UTC).timestamp() - seconds
    blob = json.dumps(data).encode()
    db(client, lambda: HttpSession.update({HttpSession.data: blob}).where(HttpSession.key == key))


def _idle_seconds(client) -> float:
    return datetime.now(UTC).timestamp() - _row_data(client)[SESSION_SEEN]


def _poll_request(client) -> tuple[str, dict]:
    """The inbox's self-refresh, exactly as the page declares it (URL and headers)."""
    rows = soup(client.get("/operator")).find(id="inbox-rows")
    assert "every" in rows["hx-trigger"]
    return rows["hx-get"], {"HX-Request": "true", **json.loads(rows["hx-headers"])}


def _signed_in(response) -> bool:
    return response.status_code == 200 and "HX-Redirect" not in response.headers


def test_inbox_polls_do_not_keep_an_idle_operator_signed_in(make_client):
    operator = make_client(staff_idle_minutes=IDLE_MINUTES)
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    url, headers = _poll_request(operator)

    # Nobody at the desk for almost the idle limit: the polls still work...
    _idle_for(operator, IDLE - 90)
    for _ in range(2):
        assert _signed_in(operator.get(url, headers=headers))
    # ...but they do not count as activity: the stamp stays where it was.
    assert _idle_seconds(operator) > IDLE - 100

    # Two more minutes of polling only: past the limit, the next poll is sent to sign-in.
    _idle_for(operator, _idle_seconds(operator) + 120)
    refused = operator.get(url, headers=headers)
    assert refused.status_code == 200
    assert refused.headers["HX-Redirect"].startswith("/staf/masuk")
    # And the session is gone for real pages too.
    page = operator.get("/operator", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/staf/masuk")


def test_a_real_request_refreshes_the_idle_clock(make_client):
    operator = make_client(staff_idle_minutes=IDLE_MINUTES)
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    url, headers = _poll_request(operator)

    _idle_for(operator, IDLE - 90)
    # The operator clicks: the same list, asked for by a person (no poll header).
    assert _signed_in(operator.get(url, headers={"HX-Request": "true"}))
    assert _idle_seconds(operator) < 60
    # So two minutes later the polls still find a live session.
    _idle_for(operator, _idle_seconds(operator) + 120)
    assert _signed_in(operator.get(url, headers=headers))
