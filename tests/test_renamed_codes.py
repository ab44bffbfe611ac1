"""Codes renamed to English (README "Naming"). What phones and bookmarks made before the rename
still send keeps its meaning: a queued outbox item files with the privacy it was written with,
an old inbox bookmark still filters, and the migration rewrites every stored copy."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import expect

from db.tables import Complaint, DailyReport, PublicSnapshot
from tests.factories import complaint_form
from tests.helpers import db, post_form, register, soup
from tests.outbox_helpers import (
    RETIRED_CATEGORY,
    controlled_by_worker,
    fill_complaint,
    offer_retired_category,
    outbox_items,
    query,
    sign_up,
    wait_for_state,
)
from tests.staff_helpers import make_staff, signed_in_operator, staff_sign_in
from web.vocabulary import OLD_CODES, current_code


@pytest.fixture
def citizen(client):
    register(client)
    return client


def _filed(client) -> dict:
    return db(
        client,
        lambda: (
            Complaint.select(Complaint.classification, Complaint.privacy, Complaint.channel)
            .order_by(Complaint.id, ascending=False)
            .first()
        ),
    )


def test_an_outbox_item_queued_before_the_rename_files_with_its_privacy(citizen):
    owner = citizen.get("/akun", headers={"accept": "application/json"}).json()["account"]
    queued = complaint_form(owner=owner, classification="aspirasi", privacy="rahasia")
    response = post_form(citizen, "/lapor", queued, headers_extra={"accept": "application/json"})
    assert response.status_code == 201
    assert _filed(citizen) == {
        "classification": "aspiration",
        "privacy": "confidential",
        "channel": "pwa",
    }


def test_an_old_form_without_javascript_files_with_its_privacy(citizen):
    response = post_form(citizen, "/lapor", complaint_form(privacy="anonim"))
    assert response.status_code == 200 and "/laporan/" in response.url.path
    assert _filed(citizen)["privacy"] == "anonymous"


def test_an_old_form_sent_back_with_errors_keeps_its_privacy_chosen(citizen):
    response = post_form(citizen, "/lapor", complaint_form(title="x", privacy="rahasia"))
    assert response.status_code == 400
    chosen = soup(response).select_one("input[name=privacy][checked]")
    assert chosen["value"] == "confidential"
    assert chosen["data-old-codes"] == "rahasia"


def test_an_intake_form_opened_before_the_rename_files_with_its_channel(make_client):
    operator = signed_in_operator(make_client)
    form = complaint_form(channel="datang", classification="informasi", reporter_name="Bu Ani")
    response = post_form(operator, "/operator/baru", form)
    assert response.status_code == 200 and "/operator/tiket/" in response.url.path
    assert _filed(operator) == {
        "classification": "information",
        "privacy": "public",
        "channel": "walk_in",
    }


def test_an_old_inbox_bookmark_still_filters_and_sorts(make_client):
    operator = signed_in_operator(make_client)
    numbers = {}
    for channel in ("phone", "lapor", "phone"):
        response = post_form(
            operator, "/operator/baru", complaint_form(channel=channel, reporter_name="Bu Ani")
        )
        numbers.setdefault(channel, []).append(response.url.path.rsplit("/", 1)[1])

    def listed(url: str) -> list[str]:
        response = operator.get(url)
        assert response.status_code == 200, url
        return [a.get_text() for a in soup(response).select("#inbox-rows td a")]

    phone_oldest_first = numbers["phone"]
    assert listed("/operator?kanal=phone&urut=oldest") == phone_oldest_first
    # The same search as bookmarked before the rename: old names, old codes.
    old = "/operator?channel=telepon&classification=pengaduan&category=jalan-rusak&urut=terlama"
    assert listed(old) == phone_oldest_first
    page = soup(operator.get(old))
    assert page.select_one("select[name=kanal] option[selected]")["value"] == "phone"
    assert page.select_one("select[name=klasifikasi] option[selected]")["value"] == "complaint"
    assert page.select_one("select[name=kategori] option[selected]")["value"] == "jalan-rusak"
    assert page.select_one("select[name=urut] option[selected]")["value"] == "oldest"
    assert listed("/operator?channel=lapor") == numbers["lapor"]
    # The OPD queue reads the same filters: an old sort code there is no error either.
    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    assert opd.get("/opd?urut=terbaru&channel=112").status_code == 200
    # Hostile values under any name, old or new: refused or ignored, never a server error.
    names = ("klasifikasi", "kategori", "kanal", "urut", "classification", "category", "channel")
    for value in ("\x00", "'; --", "x" * 3000, "%ff", "pengaduan\n"):
        assert operator.get("/operator", params=dict.fromkeys(names, value)).status_code < 500
        assert opd.get("/opd", params=dict.fromkeys(names, value)).status_code < 500


def test_every_old_code_has_a_current_one():
    assert all(current_code(old) == new != old for old, new in OLD_CODES.items())
    assert current_code("public") == "public" and current_code("") == ""


def test_the_migration_rewrites_stored_codes_and_can_run_again(citizen):
    from db.migrations.aduan_2026_11_30t02_00_00_000000_english_codes import forwards

    for form in (
        complaint_form(classification="complaint", privacy="confidential"),
        complaint_form(classification="aspiration", privacy="anonymous"),
    ):
        assert post_form(citizen, "/lapor", form).status_code == 200

    async def age_the_data():
        # What the previous release stored.
        await Complaint.raw(
            "UPDATE complaint SET privacy = CASE privacy WHEN 'confidential' THEN 'rahasia' "
            "ELSE 'anonim' END, classification = CASE classification WHEN 'complaint' "
            "THEN 'pengaduan' ELSE 'aspirasi' END, channel = 'telepon'"
        )
        mix = {"pwa": 3, "telepon": 2, "datang": 1, "lapor": 0, "112": 4}
        await DailyReport.insert(
            DailyReport(
                day=date(2026, 11, 1),
                figures=json.dumps({"channels": mix, "calls": {}}),
                generated_at=datetime.now(UTC),
            )
        )
        await PublicSnapshot.insert(
            PublicSnapshot(name="city", figures="{}", source_key="k", computed_at=datetime.now(UTC))
        )

    async def migrate():
        manager = await forwards()
        for step in manager.raw:  # the data steps (the column was widened at set-up)
            await step()

    async def stored():
        complaints = await Complaint.select(
            Complaint.classification, Complaint.privacy, Complaint.channel
        ).order_by(Complaint.id)
        report = await DailyReport.select(DailyReport.figures).first()
        return complaints, json.loads(report["figures"]), await PublicSnapshot.count()

    db(citizen, age_the_data)
    for _ in range(2):  # idempotent: a second run changes nothing
        db(citizen, migrate)
        complaints, figures, snapshots = db(citizen, stored)
        assert complaints == [
            {"classification": "complaint", "privacy": "confidential", "channel": "phone"},
            {"classification": "aspiration", "privacy": "anonymous", "channel": "phone"},
        ]
        assert list(figures["channels"].items()) == [
            ("pwa", 3),
            ("phone", 2),
            ("walk_in", 1),
            ("lapor", 0),
            ("call_112", 4),
        ]
        assert snapshots == 0


@pytest.mark.browser
def test_fixing_an_item_queued_by_an_old_page_keeps_it_confidential(phone, live_server):
    """A page cached before the rename queued an item with privacy "rahasia"; the server refused
    it (its category was retired). Fixed on today's form, it must still go out confidential: a radio the
    form could not match would silently make it public."""
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    # The old page's radios carried the old codes.
    page.evaluate(
        """() => document.querySelectorAll("input[name=privacy]").forEach(r => {
            r.value = {public: "publik", anonymous: "anonim", confidential: "rahasia"}[r.value];
            r.checked = r.value === "rahasia";
        })"""
    )
    phone.set_offline(True)
    offer_retired_category(page)
    fill_complaint(
        page,
        title="Got mampet",
        description="Got mampet di Jalan Sudirman, air meluap.",
        category=RETIRED_CATEGORY,
    )
    expect(page.locator("[data-outbox-notice]")).to_contain_text("Tersimpan di ponsel ini")
    phone.set_offline(False)
    wait_for_state(page, "rejected")

    page.goto(live_server.url + "/menunggu")
    page.locator(".outbox-item a.button").click()
    page.wait_for_url("**/lapor?ubah=*")
    expect(page.locator("#title")).to_have_value("Got mampet")
    expect(page.locator("input[name=privacy][value=confidential]")).to_be_checked()
    page.select_option("#category", "jalan-rusak")
    page.select_option("#jawaban-jalan-rusak-jenis_kerusakan", "berlubang")
    page.click("button[type=submit]:has-text('Kirim laporan')")
    page.wait_for_url("**/laporan/CLG-*")
    assert [i["state"] for i in outbox_items(page)] == ["sent"]
    assert query(lambda: Complaint.select(Complaint.privacy).first()) == {"privacy": "confidential"}
