"""Each role's daily path in real Chromium: OPD staff on a 360 px phone see only the step that fits
and are told what happened, a staff error page leads back to work, the citizen is told their
confirmation and rating arrived, and the operator's inbox keeps its search, filters and sort."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import create_staff, staff_page
from tests.conftest import run_async
from tests.factories import complaint_form
from tests.helpers import valid_nik
from tests.outbox_helpers import Person, sign_up

pytestmark = pytest.mark.browser

RINA = Person(valid_nik(31), "Rina Marlina", "0812-4444-5151", "+6281244445151")
PHONE = {"width": 360, "height": 780}


def _file(category: str, title: str, citizen_id: int | None = None) -> str:
    """A ticket filed straight through the filing service (no photos: storage is not touched)."""
    from web.city import get_city
    from web.complaints.forms import parse_complaint_form
    from web.complaints.service import create_complaint

    city = get_city()
    draft = parse_complaint_form(complaint_form(category=category, title=title), city)
    filed = run_async(
        lambda: create_complaint(
            draft,
            citizen_id=citizen_id,
            photos=[],
            storage=None,
            city=city,  # type: ignore[arg-type]
        )
    )
    return filed.number


def _verify_and_dispatch(number: str) -> None:
    from db.tables import Opd
    from web.workflow.service import Actor, act

    async def through():
        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        operator = Actor(kind="system", id=None, role="operator")
        await act(number, "verify", operator, expected_version=1)
        await act(number, "dispatch", operator, expected_version=2, opd_id=pupr)

    run_async(through)


def _citizen_id(phone_e164: str) -> int:
    from db.tables import Citizen

    row = run_async(lambda: Citizen.select(Citizen.id).where(Citizen.phone == phone_e164).first())
    return row["id"]


def _notice(page):
    return page.locator("main p.notice-ok[role=status]")


def test_opd_phone_and_citizen_are_told_what_happened(chromium, phone, live_server):
    citizen = phone.new_page()
    sign_up(citizen, live_server, RINA)
    number = _file("jalan-rusak", "Aspal amblas di depan pasar", _citizen_id(RINA.phone_e164))
    _verify_and_dispatch(number)
    create_staff("opd_staff", "pupr-lapangan", opd_slug="pupr")

    context, opd = staff_page(chromium, live_server, "pupr-lapangan", PHONE)
    opd.wait_for_url("**/opd")
    opd.goto(f"{live_server.url}/opd/tiket/{number}")
    expect(opd.locator("dd.category")).to_have_text("Jalan rusak")
    expect(opd.locator("dd.deadline time")).to_be_visible()
    assert opd.evaluate("document.documentElement.scrollWidth") <= 360
    # Before "Mulai tangani": only start and return are offered.
    expect(opd.locator("button:has-text('Mulai tangani')")).to_be_visible()
    expect(opd.locator("button:has-text('Kembalikan ke operator')")).to_be_visible()
    expect(
        opd.locator("button[value=resolve], button[value=follow_up], #reply-note")
    ).to_have_count(0)
    opd.once("dialog", lambda dialog: dialog.accept())
    opd.click("button:has-text('Mulai tangani')")
    expect(_notice(opd)).to_contain_text(number)
    expect(opd.locator("button:has-text('Mulai tangani')")).to_have_count(0)

    opd.fill("#reply-note", "Aspal sudah ditambal dan dipadatkan.")
    opd.once("dialog", lambda dialog: dialog.accept())
    opd.click("button[value=resolve]")
    opd.wait_for_url("**/opd?*")
    expect(_notice(opd)).to_contain_text(f"Tiket {number} ditandai selesai")
    assert opd.evaluate("document.documentElement.scrollWidth") <= 360

    # A wrong address under /opd: the staff menu and a way back to the queue.
    opd.goto(f"{live_server.url}/opd/tiket/CLG-2099-999999")
    expect(opd.locator("nav[aria-label='Menu petugas']")).to_be_visible()
    expect(opd.locator("nav a[href='/laporan']")).to_have_count(0)
    opd.click("a:has-text('Kembali ke Antrean OPD')")
    opd.wait_for_url("**/opd")
    context.close()

    citizen.goto(f"{live_server.url}/laporan/{number}")
    citizen.click("button:has-text('Ya, sudah selesai')")
    expect(_notice(citizen)).to_have_text(
        f"Terima kasih. Laporan {number} sudah Anda konfirmasi selesai."
    )
    citizen.check("input[name=rating][value='5']")
    citizen.click("button:has-text('Kirim penilaian')")
    expect(_notice(citizen)).to_have_text(
        f"Terima kasih atas penilaian Anda untuk laporan {number}."
    )

    # In English, the ticket and "My reports" name the category from the city file's English name.
    citizen.click("a[hreflang=en]")
    citizen.wait_for_url(f"**/laporan/{number}")
    expect(citizen.locator(".details")).to_contain_text("Damaged road")
    expect(citizen.locator(".details")).not_to_contain_text("Jalan rusak")
    citizen.goto(f"{live_server.url}/laporan")
    expect(citizen.locator(".ticket-meta").first).to_contain_text("Damaged road")


def test_inbox_keeps_search_filters_and_sort_after_an_action_and_a_refresh(chromium, live_server):
    numbers = [_file("jalan-rusak", f"Jalan berlubang nomor {i}") for i in range(2)]
    _file("sampah", "Sampah menumpuk di pasar")
    wanted = numbers[1]
    create_staff("operator", "operator-inbox")

    context, page = staff_page(
        chromium, live_server, "operator-inbox", {"width": 1366, "height": 900}
    )
    page.wait_for_url("**/operator")
    # The poll's timer runs on a clock the test moves: no 30 s wait.
    page.clock.install()
    page.reload()
    rows = page.locator("#inbox-rows tr.ticket-row")
    expect(rows).to_have_count(3)
    page.select_option("select[name=kategori]", "jalan-rusak")
    expect(rows).to_have_count(2)
    page.select_option("select[name=urut]", "oldest")
    page.fill("input[name=q]", wanted)
    page.press("input[name=q]", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-number", wanted)

    # After an action the list reloads with the same search, filters and sort.
    page.click(f"#inbox-rows a:has-text('{wanted}')")
    with page.expect_response(
        lambda r: "/operator?" in r.url and "x-aduan-poll" in r.request.headers
    ) as after_action:
        page.locator("#detail form.action-verify button").click()
    expect(rows.first).to_contain_text("Diverifikasi")
    expect(rows).to_have_count(1)
    # And so does the 30 s refresh.
    with page.expect_response(
        lambda r: "/operator?" in r.url and "x-aduan-poll" in r.request.headers
    ) as refresh:
        page.clock.fast_forward("00:31")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-number", wanted)
    for response in (after_action.value, refresh.value):
        url = response.url
        assert f"q={wanted}" in url and "kategori=jalan-rusak" in url and "urut=oldest" in url, url
    expect(page.locator("input[name=q]")).to_have_value(wanted)
    context.close()
