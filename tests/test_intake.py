"""Command-centre intake: tickets for phone and walk-in reporters, the 112 call log, shift hand-over."""

from __future__ import annotations

import pytest

from db.tables import CallLog, Complaint, TimelineEvent
from tests.factories import complaint_form
from tests.helpers import db, post_form, register, soup
from tests.html import text_of, texts_of
from tests.staff_helpers import make_staff, signed_in_operator, staff_sign_in


def test_operator_files_a_phone_complaint_for_a_registered_citizen(make_client):
    citizen = make_client()
    register(citizen, phone="0812-5555-6666")
    operator = signed_in_operator(make_client)
    form = complaint_form(
        title="Lampu PJU mati di gang",
        channel="phone",
        reporter_name="Ibu Sari",
        reporter_contact="0812 5555 6666",
    )
    response = post_form(operator, "/operator/baru", form)
    assert response.status_code == 200
    number = response.url.path.rsplit("/", 1)[1]
    ticket = db(operator, lambda: Complaint.select().first())
    assert ticket["channel"] == "phone" and ticket["reporter_name"] == "Ibu Sari"
    assert ticket["reporter_contact"] == "+6281255556666"
    assert ticket["filed_by_staff"] is not None
    event = db(operator, lambda: TimelineEvent.select().first())
    assert event["actor_kind"] == "staff"
    # The reporter has an account with that number: the ticket shows up there too.
    assert number in texts_of(citizen.get("/laporan"), ".ticket-number")
    assert "phone" in operator.get("/operator?kanal=phone").text


def test_intake_keeps_input_on_errors_and_needs_a_channel(make_client):
    operator = signed_in_operator(make_client)
    response = post_form(
        operator, "/operator/baru", complaint_form(title="x", channel="", reporter_name="Pak Budi")
    )
    assert response.status_code == 400
    errors = soup(response).find(id="form-errors").get_text()
    assert "kanal" in errors.lower() and "Judul" in errors
    assert soup(response).find(attrs={"name": "reporter_name"})["value"] == "Pak Budi"
    assert db(operator, lambda: Complaint.count()) == 0


@pytest.mark.clock
def test_112_calls_are_logged_and_counted(make_client):
    operator = signed_in_operator(make_client)
    for kind in ("normal", "prank", "prank", "informative"):
        assert (
            post_form(operator, "/operator/112", {"kind": kind, "note": "uji"}).status_code == 200
        )
    page = soup(operator.get("/operator/112"))
    counts = {dd["data-kind"]: int(dd.get_text()) for dd in page.select("dd[data-kind]")}
    assert counts == {"normal": 1, "informative": 1, "prank": 2}
    assert db(operator, lambda: CallLog.count()) == 4
    assert post_form(operator, "/operator/112", {"kind": "unknown"}).status_code == 400

    supervisor = signed_in_operator(make_client, "supervisor")
    assert supervisor.get("/operator/112").status_code == 200  # reads the counts ...
    assert (
        post_form(
            supervisor, "/operator/112", {"kind": "normal"}, follow_redirects=False
        ).status_code
        == 403
    )


def test_shift_handover_lists_arrivals_and_unverified(make_client):
    citizen = make_client()
    register(citizen)
    number = post_form(citizen, "/lapor", complaint_form(title="Drainase mampet")).url.path.rsplit(
        "/", 1
    )[1]
    operator = signed_in_operator(make_client)
    page = soup(operator.get("/operator/serah-terima"))
    assert number in page.select_one("#arrived").get_text()
    assert number in page.select_one("#unverified").get_text()
    assert number not in page.select_one("#overdue").get_text()


def test_shift_start_wraps_around_midnight():
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from web.intake.service import shift_start

    tz = ZoneInfo("Asia/Jakarta")
    starts = [time(7), time(15), time(23)]
    at_2am = datetime(2026, 11, 24, 2, 0, tzinfo=tz).astimezone(UTC)
    assert shift_start(at_2am, tz, starts) == datetime(2026, 11, 23, 23, 0, tzinfo=tz)
    at_noon = datetime(2026, 11, 24, 12, 0, tzinfo=tz)
    assert shift_start(at_noon, tz, starts) == datetime(2026, 11, 24, 7, 0, tzinfo=tz)


def test_operators_see_a_phone_callers_name_and_number_opd_staff_only_when_public(make_client):
    """The caller's details were stored but the detail page showed the (absent) account's name."""
    from db.tables import Opd
    from web.workflow.service import Actor, act

    staff = {role: signed_in_operator(make_client, role) for role in ("operator", "supervisor")}
    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    numbers = {}
    for privacy in ("anonymous", "confidential", "public"):
        form = complaint_form(
            channel="phone",
            privacy=privacy,
            reporter_name=f"Pak Darto {privacy}",
            reporter_contact="(0254) 391-234",  # a landline: kept as typed
        )
        response = post_form(staff["operator"], "/operator/baru", form)
        numbers[privacy] = response.url.path.rsplit("/", 1)[1]

    async def dispatch():
        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        operator = Actor(kind="system", id=None, role="operator")
        for number in numbers.values():
            await act(number, "verify", operator, expected_version=1)
            await act(number, "dispatch", operator, expected_version=2, opd_id=pupr)

    db(opd, dispatch)
    for privacy, number in numbers.items():
        for role, client in staff.items():
            shown = soup(client.get(f"/operator/tiket/{number}")).select_one("dd.reporter")
            assert f"Pak Darto {privacy}" in shown.get_text(), (role, privacy)
            assert shown.select_one("a[href^='tel:']").get_text() == "(0254) 391-234"
        page = opd.get(f"/opd/tiket/{number}")
        assert page.status_code == 200
        assert "391-234" not in page.text
        if privacy == "public":
            assert text_of(page, ".reporter") == f"Pak Darto {privacy}"
        else:
            assert "Pak Darto" not in page.text, privacy
