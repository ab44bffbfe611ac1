"""OPD staff on a 360 px phone in real Chromium, where the signal is worst: proof photos leave the
phone small with progress shown, actions done offline are sent by themselves once the signal is
back (applied once, at the moment they were done), a ticket changed meanwhile becomes a conflict
to decide on, the queue stays readable offline, and signing out leaves nothing readable behind."""

from __future__ import annotations

import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from db.tables import AuditLog, Category, Complaint, Opd, TimelineEvent
from tests.browser import create_staff, new_phone, staff_page
from tests.images import textured_camera_jpeg
from tests.outbox_helpers import controlled_by_worker, eventually, query
from tests.staff_helpers import PASSWORD

pytestmark = pytest.mark.browser


def _dispatched_ticket(number: str, title: str, status: str = "dispatched") -> None:
    """A ticket dispatched to Dinas PUPR an hour ago (and, with ``status``, taken on since)."""

    async def make():
        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        category = (
            await Category.select(Category.id).where(Category.slug == "jalan-rusak").first()
        )["id"]
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        row = await Complaint.insert(
            Complaint(
                number=number,
                client_key=uuid.uuid4(),
                classification="complaint",
                category=category,
                title=title,
                description="Lubang besar di tengah jalan.",
                privacy="public",
                status=status,
                channel="pwa",
                opd=pupr,
                sla_started_at=an_hour_ago,
                sla_due_at=an_hour_ago + timedelta(days=3),
                created_at=an_hour_ago,
                updated_at=an_hour_ago,
            )
        ).returning(Complaint.id)
        await TimelineEvent.insert(
            TimelineEvent(
                complaint=row[0]["id"],
                kind="dispatch",
                from_status="verified",
                to_status="dispatched",
                actor_kind="system",
                opd=pupr,
                created_at=an_hour_ago,
            )
        )

    query(make)


def _ticket(number: str) -> dict:
    return query(lambda: Complaint.select().where(Complaint.number == number).first())


def _events(number: str, kind: str) -> list[dict]:
    async def events():
        ticket = await Complaint.select(Complaint.id).where(Complaint.number == number).first()
        return await TimelineEvent.select().where(
            (TimelineEvent.complaint == ticket["id"]) & (TimelineEvent.kind == kind)
        )

    return query(events)


def _photo_posts(page) -> list[int]:
    """Sizes (Content-Length) of the bodies the page posts to a ticket's action URL."""
    sizes: list[int] = []

    def seen(request) -> None:
        if request.method == "POST" and request.url.endswith("/aksi"):
            sizes.append(int(request.header_value("content-length") or 0))

    page.on("requestfinished", seen)
    return sizes


def _watch_progress(page) -> None:
    # Every text the status region shows, and whether the buttons were disabled meanwhile; kept in
    # sessionStorage, which outlives the page's reload after sending.
    page.evaluate(
        """() => {
            sessionStorage.setItem('progress', '[]');
            const box = document.querySelector('[data-opd-actions]');
            const region = box.querySelector('[data-opd-progress]');
            new MutationObserver(() => {
                const seen = JSON.parse(sessionStorage.getItem('progress'));
                seen.push({
                    text: region.textContent,
                    role: region.getAttribute('role'),
                    disabled: [...box.querySelectorAll('button')].every(b => b.disabled),
                });
                sessionStorage.setItem('progress', JSON.stringify(seen));
            }).observe(region, {childList: true, characterData: true, subtree: true});
        }"""
    )


# A 48 MP camera photo made in the page (handing 20+ MB to the browser through Playwright takes
# half a minute): noisy gradients, JPEG 0.92, given to the photo input as the camera would.
CAMERA_48MP = """async () => {
    const [w, h, band] = [8000, 6000, 400];
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    const rows = ctx.createImageData(w, band);
    let seed = 7;
    for (let i = 0; i < rows.data.length; i += 4) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const noise = seed % 96, x = (i / 4) % w;
        rows.data[i] = (x * 255 / w + noise) & 255;
        rows.data[i + 1] = (255 - x * 255 / w + noise) & 255;
        rows.data[i + 2] = (noise * 2) & 255;
        rows.data[i + 3] = 255;
    }
    for (let y = 0; y < h; y += band) ctx.putImageData(rows, 0, y);
    const blob = await canvas.convertToBlob({type: 'image/jpeg', quality: 0.92});
    const files = new DataTransfer();
    files.items.add(new File([blob], 'kamera-48mp.jpg', {type: 'image/jpeg'}));
    const input = document.querySelector('[data-opd-actions] input[type=file]');
    input.files = files.files;
    input.dispatchEvent(new Event('change', {bubbles: true}));
    return blob.size;
}"""


def _send_follow_up(page, photo: bytes | None, note: str) -> list[dict]:
    page.fill("#reply-note", note)
    if photo is None:
        original = page.evaluate(CAMERA_48MP)
        assert original > 10 * 1024 * 1024  # over the server's limit as the camera made it
    else:
        page.set_input_files(
            "[data-opd-actions] input[type=file]",
            files=[{"name": "bukti.jpg", "mimeType": "image/jpeg", "buffer": photo}],
        )
    _watch_progress(page)
    with page.expect_navigation():
        page.click("button[value=follow_up]")
    return json.loads(page.evaluate("sessionStorage.getItem('progress')"))


def test_opd_staff_work_offline_and_online_from_the_phone(chromium, live_server):
    create_staff("opd_staff", "staf-lapangan", opd_slug="pupr")
    create_staff("opd_staff", "rekan-pupr", opd_slug="pupr")
    online_ticket, conflict_ticket = "CLG-2026-777001", "CLG-2026-777002"
    reapply_ticket = "CLG-2026-777003"
    _dispatched_ticket(online_ticket, "Lubang di Jl. Ahmad Yani")
    _dispatched_ticket(conflict_ticket, "Lampu jalan mati di Jl. Sudirman")
    _dispatched_ticket(reapply_ticket, "Drainase tersumbat di Jl. Merdeka", status="in_progress")

    phone = new_phone(chromium)
    page = phone.new_page()
    page.goto(live_server.url + "/staf/masuk")
    page.fill("#username", "staf-lapangan")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/opd")
    controlled_by_worker(page, live_server, "/opd")
    expect(page.locator(".refreshed")).to_contain_text("Terakhir diperbarui")

    # --- Online: proof photos leave the phone small, with the buttons off and progress shown.
    page.goto(f"{live_server.url}/opd/tiket/{online_ticket}")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("button:has-text('Mulai tangani')")
    assert _ticket(online_ticket)["status"] == "in_progress"
    sizes = _photo_posts(page)
    progress = _send_follow_up(page, textured_camera_jpeg(4000, 3000), "Lubang sudah diukur.")
    twelve_mp = sizes[-1]
    assert 50_000 < twelve_mp <= 300_000, twelve_mp
    assert progress and all(p["role"] == "status" and p["disabled"] for p in progress), progress
    assert any("Menyiapkan foto" in p["text"] for p in progress), progress
    assert any(re.search(r"Mengirim… .+ dari .+ \(\d+%\)", p["text"]) for p in progress), progress
    # A 48 MP photo (over the server's 10 MB limit as it comes from the camera) is made small too.
    _send_follow_up(page, None, "Foto 48 MP dari kamera utama.")
    forty_eight_mp = sizes[-1]
    assert 50_000 < forty_eight_mp <= 600_000, forty_eight_mp
    assert len(_events(online_ticket, "follow_up")) == 2
    print(f"\nOPD proof photo bytes sent: 12 MP {twelve_mp}, 48 MP {forty_eight_mp}")

    # --- Offline: the queue and its tickets stay readable; actions are queued on the phone.
    page.goto(f"{live_server.url}/opd")
    expect(page.locator(f"a:has-text('{conflict_ticket}')")).to_be_visible()
    for number in (conflict_ticket, reapply_ticket):
        # page.evaluate awaits the promise (wait_for_function would take the promise as truthy).
        eventually(
            lambda number=number: page.evaluate(
                "n => caches.keys().then(ks => Promise.all(ks.filter(k => k.startsWith('aduan-staff-'))"
                ".map(k => caches.open(k).then(c => c.match('/opd/tiket/' + n)))))"
                ".then(hits => hits.some(Boolean))",
                number,
            ),
            10,
            f"an offline copy of {number}",
            page,
        )
    phone.set_offline(True)
    page.goto(f"{live_server.url}/opd")
    expect(page.locator("h1")).to_have_text("Antrean OPD")
    expect(page.locator(".refreshed")).to_contain_text("Terakhir diperbarui")

    page.goto(f"{live_server.url}/opd/tiket/{online_ticket}")
    page.fill("#reply-note", "Lubang sudah ditambal dan dipadatkan.")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[value=resolve]")
    waiting = page.locator("[data-opd-outbox] li[data-state=waiting]")
    expect(waiting).to_contain_text("Menunggu sinyal")
    done_on_phone = page.evaluate(
        "AduanOutbox.all().then(i => i.find(x => x.state === 'waiting').fields.done_at)"
    )

    page.goto(f"{live_server.url}/opd/tiket/{conflict_ticket}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Mulai tangani')")
    expect(page.locator("[data-opd-outbox] li[data-state=waiting]")).to_have_count(1)

    page.goto(f"{live_server.url}/opd/tiket/{reapply_ticket}")
    page.fill("#reply-note", "Saluran sudah dibersihkan sebagian.")
    page.click("button[value=follow_up]")
    expect(page.locator("[data-opd-outbox] li[data-state=waiting]")).to_have_count(1)

    # Meanwhile a colleague returns one ticket to the operator and adds a follow-up to the other,
    # over HTTP from another phone.
    colleague_context, colleague = staff_page(
        chromium, live_server, "rekan-pupr", {"width": 360, "height": 780}
    )
    colleague.wait_for_url("**/opd")
    token = next(c["value"] for c in colleague_context.cookies() if c["name"].endswith("csrftoken"))
    for number, form in (
        (conflict_ticket, {"action": "return_to_operator", "note": "Bukan wewenang PUPR."}),
        (reapply_ticket, {"action": "follow_up", "note": "Truk penyedot dijadwalkan besok."}),
    ):
        changed = colleague_context.request.post(
            f"{live_server.url}/opd/tiket/{number}/aksi",
            form={**form, "version": "1"},
            headers={"x-csrftoken": token},
            max_redirects=0,
        )
        assert changed.status == 303, (number, changed.status)
    colleague_context.close()

    # --- Signal back: sent by itself, applied once, at the moment it was done on the phone.
    signal_back = time.monotonic()
    phone.set_offline(False)
    eventually(
        lambda: _ticket(online_ticket)["status"],
        30,
        "resolved",
        page,
        done=lambda s: s == "resolved",
    )
    applied_after = time.monotonic() - signal_back
    print(f"signal back -> resolve applied on the server: {applied_after:.2f} s")
    resolves = _events(online_ticket, "resolve")
    assert len(resolves) == 1
    assert abs(resolves[0]["created_at"].timestamp() * 1000 - int(done_on_phone)) < 5
    audit = query(lambda: AuditLog.select().where(AuditLog.action == "complaint.resolve").first())
    detail = json.loads(audit["detail"])
    assert detail["event_at"] == resolves[0]["created_at"].isoformat()
    assert datetime.fromisoformat(detail["arrived_at"]) >= resolves[0]["created_at"]

    # A follow-up that met a colleague's follow-up is still worth adding: "Terapkan lagi" sends it
    # against the ticket as it is now, and it is applied once, after the colleague's.
    page.goto(f"{live_server.url}/opd/tiket/{reapply_ticket}")
    conflict = page.locator("[data-opd-outbox] li[data-state=conflict]")
    expect(conflict).to_contain_text("sudah berubah")
    conflict.locator("button:has-text('Terapkan lagi')").click()
    notes = eventually(
        lambda: sorted(e["note"] for e in _events(reapply_ticket, "follow_up")),
        15,
        "the re-applied follow-up on the server",
        page,
        done=lambda notes: len(notes) >= 2,
    )
    assert notes == ["Saluran sudah dibersihkan sebagian.", "Truk penyedot dijadwalkan besok."]
    expect(page.locator("[data-opd-outbox] li[data-state=conflict]")).to_have_count(0)

    # The changed ticket: kept on the phone as a conflict, with the reason and its state now.
    page.goto(f"{live_server.url}/opd/tiket/{conflict_ticket}")
    conflict = page.locator("[data-opd-outbox] li[data-state=conflict]")
    expect(conflict).to_contain_text("sudah berubah")
    expect(conflict).to_contain_text("Dikembalikan OPD")
    expect(conflict.locator("button:has-text('Terapkan lagi')")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    conflict.locator("button:has-text('Buang')").click()
    expect(conflict).to_have_count(0)
    assert (
        page.evaluate("AduanOutbox.all().then(i => i.filter(x => x.state === 'conflict').length)")
        == 0
    )
    assert _events(conflict_ticket, "start") == []
    assert _ticket(conflict_ticket)["status"] == "returned"
    page.wait_for_timeout(500)  # the resent resolve is not applied a second time meanwhile
    assert len(_events(online_ticket, "resolve")) == 1

    # --- The session ends without a sign-out and a colleague signs in on this phone: the copies
    # kept for the first account go as soon as the phone learns who is signed in now.
    page.goto(f"{live_server.url}/opd")
    first_account = page.evaluate("AduanOutbox.lastAccount().then(a => a.account)")
    assert "aduan-staff-" + first_account in page.evaluate("caches.keys()")
    phone.clear_cookies()
    page.goto(live_server.url + "/staf/masuk")
    page.fill("#username", "rekan-pupr")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/opd")
    kept = eventually(
        lambda: [k for k in page.evaluate("caches.keys()") if k.startswith("aduan-staff-")],
        10,
        "only the new account's offline copies",
        page,
        done=lambda keys: keys and "aduan-staff-" + first_account not in keys,
    )
    assert kept == [
        f"aduan-staff-{page.evaluate('AduanOutbox.lastAccount().then(a => a.account)')}"
    ]

    # --- Sign-out: the copies are gone; offline, /opd shows the offline page, not the old queue.
    page.goto(f"{live_server.url}/opd")
    page.click("button:has-text('Keluar')")
    page.wait_for_url("**/staf/masuk")
    assert (
        page.evaluate("caches.keys().then(ks => ks.filter(k => k.startsWith('aduan-staff-')))")
        == []
    )
    phone.set_offline(True)
    page.goto(f"{live_server.url}/opd")
    expect(page.locator("h1")).to_have_text("Anda sedang offline")
    assert page.locator(f"a:has-text('{online_ticket}')").count() == 0
    phone.set_offline(False)
    phone.close()
