"""The SP4N-LAPOR! list in real Chromium: the text is copied to the clipboard, "Sudah diperbarui"
swaps the item in place (htmx, CSRF), and the list with an item and the import page with errors
meet WCAG AA (axe)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.a11y_walk import DESKTOP, Findings, measure
from tests.browser import create_staff, staff_page
from tests.conftest import run_async
from tests.factories import complaint_form

pytestmark = pytest.mark.browser


def _lapor_ticket_verified(lapor_id: str) -> str:
    from web.city import get_city
    from web.complaints.forms import parse_complaint_form
    from web.complaints.service import create_complaint
    from web.workflow.service import Actor, act

    city = get_city()
    draft = parse_complaint_form(complaint_form(title="Lampu jalan padam di gang"), city)

    async def file_and_verify():
        filed = await create_complaint(
            draft,
            citizen_id=None,
            photos=[],
            storage=None,  # type: ignore[arg-type]
            city=city,
            channel="lapor",
            lapor_id=lapor_id,
        )
        await act(
            filed.number,
            "verify",
            Actor(kind="system", id=None, role="operator"),
            expected_version=1,
        )
        return filed.number

    return run_async(file_and_verify)


def test_copy_and_mark_updated_on_the_lapor_list(chromium, live_server):
    number = _lapor_ticket_verified("LAP-2026-777001")
    create_staff("operator", "operator-lapor")
    context, page = staff_page(chromium, live_server, "operator-lapor", DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.wait_for_url("**/operator")
    page.click("nav a:has-text('SP4N-LAPOR!')")
    item = page.locator(f"#lapor-{number}")
    expect(item).to_contain_text("LAP-2026-777001")
    found = Findings()
    measure(page, "operator /operator/lapor with an item", found)
    page.set_viewport_size(DESKTOP)

    item.get_by_role("button", name="Salin teks").click()
    expect(item.locator("[data-lapor-copied]")).to_contain_text("Teks tersalin")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith("Status: Diverifikasi"), copied
    assert number in copied

    item.get_by_role("button", name="Sudah diperbarui").click()
    expect(page.locator(f"#lapor-{number}")).to_contain_text("ditandai sudah diperbarui")
    page.reload()
    expect(page.locator("main")).to_contain_text("Semua tiket SP4N-LAPOR! sudah diperbarui.")

    # The import page with a refused paste: errors listed, the paste kept.
    page.goto(live_server.url + "/operator/lapor/impor")
    page.fill("#reports", "LAP-2026-777001\t2026-11-30\tJudul\tIsi\tJalan rusak\tCibeber")
    page.click("main button[type=submit]")
    expect(page.locator("#import-errors")).to_contain_text("LAP-2026-777001")
    measure(page, "operator /operator/lapor/impor with errors", found)
    context.close()
    assert not (found.axe or found.width or found.targets), found.report()
