"""Sessions an attacker cannot plant, bots cannot pile up, and a sign-out that sticks.

Issue 9: session fixation at citizen and staff sign-in; made-up ids; a row per cookieless
request; an admin's reset / role / OPD change ending the account's sessions; a sign-out undone
by a slow upload that finishes after it; the purge of expired sessions and old sign-in codes.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.tables import HttpSession, Opd, SignInCode, StaffUser
from tests.factories import citizen_sign_in, complaint_form
from tests.helpers import (
    DEMO_PHONE_E164,
    DEMO_PHONE_LOCAL,
    db,
    last_code,
    post_form,
    register,
    soup,
    valid_nik,
)
from tests.images import jpeg_with_exif_gps
from tests.staff_helpers import PASSWORD, make_staff, staff_sign_in

COOKIE = "session"
ISSUED_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def session_id(client) -> str | None:
    return next((c.value for c in client.cookies.jar if c.name == COOKIE), None)


def plant(client, value: str) -> None:
    """What an attacker does through a shared computer, a sibling subdomain or a crafted link."""
    client.cookies.set(COOKIE, value, domain="127.0.0.1", path="/")


def session_keys(client) -> list[str]:
    return [r["key"] for r in db(client, lambda: HttpSession.select(HttpSession.key))]


def citizen_signed_in(client) -> bool:
    return client.get("/akun", headers={"accept": "application/json"}).json()["signed_in"]


@pytest.mark.parametrize("planted_kind", ["issued", "made_up"])
def test_a_session_id_planted_before_citizen_sign_in_is_worth_nothing_after(
    make_client, planted_kind
):
    setup = make_client()
    register(setup)  # the victim's account
    post_form(setup, "/keluar", {})

    attacker = make_client()
    if planted_kind == "issued":
        # A real id: the attacker starts a sign-in of their own and keeps the cookie.
        post_form(attacker, "/masuk", {"phone": DEMO_PHONE_LOCAL})
        planted = session_id(attacker)
        assert planted and planted in session_keys(attacker)
    else:
        planted = "A" * 43  # looks like ours, was never issued
        plant(attacker, planted)

    victim = make_client()
    plant(victim, planted)
    citizen_sign_in(victim)
    assert citizen_signed_in(victim)
    assert session_id(victim) != planted and ISSUED_ID.fullmatch(session_id(victim))

    # The attacker, still holding the planted id, sees nothing of the victim.
    plant(attacker, planted)
    assert not citizen_signed_in(attacker)
    assert attacker.get("/laporan", follow_redirects=False).status_code == 303
    assert planted not in session_keys(attacker)


@pytest.mark.parametrize("planted_kind", ["issued", "made_up"])
@pytest.mark.clock
def test_a_session_id_planted_before_staff_sign_in_is_worth_nothing_after(
    make_client, planted_kind
):
    attacker = make_client()
    make_staff(attacker, "opd_staff", opd_slug="dlh")
    make_staff(attacker, "supervisor")
    if planted_kind == "issued":
        staff_sign_in(attacker, "opd_staff-dlh")  # a colleague with fewer rights
        planted = session_id(attacker)
    else:
        planted = "-_" * 21 + "x"
    assert planted

    victim = make_client()
    plant(victim, planted)
    staff_sign_in(victim, "supervisor-kota")
    assert victim.get("/pimpinan/laporan").status_code == 200
    assert session_id(victim) != planted and ISSUED_ID.fullmatch(session_id(victim))

    plant(attacker, planted)
    response = attacker.get("/pimpinan/laporan", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/staf/masuk")
    assert planted not in session_keys(attacker)


@pytest.mark.parametrize("made_up", ["x", "A" * 43, "z" * 300, "null", "../etc-" * 12])
def test_a_made_up_session_id_gets_a_fresh_anonymous_session_and_no_row(make_client, made_up):
    client = make_client()
    plant(client, made_up)
    page = client.get("/")
    assert page.status_code == 200
    assert session_keys(client) == []
    # Never adopted, and not answered with a cookie either: a request carrying a dead id may be
    # racing a sign-in, whose new cookie must not be wiped by this answer.
    set_cookies = page.headers.get_list("set-cookie")
    assert not [line for line in set_cookies if line.startswith(f"{COOKIE}=")], set_cookies

    # Once the session holds something (a sign-up waiting for its code) it gets our own id.
    plant(client, made_up)
    waiting = post_form(
        client,
        "/daftar",
        {"nik": valid_nik(7), "name": "Budi Santoso", "phone": "0812-3456-0007"},
    )
    assert waiting.url.path == "/masuk/kode"
    new_id = session_id(client)
    assert new_id != made_up and ISSUED_ID.fullmatch(new_id)
    assert session_keys(client) == [new_id]


def test_anonymous_visits_write_no_session_row(make_client):
    client = make_client()
    for path in ("/", "/masuk", "/daftar", "/lapor", "/transparansi", "/staf/masuk"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert f"{COOKIE}=" not in response.headers.get("set-cookie", ""), path
    refused = post_form(client, "/masuk", {"phone": "12"})  # a form error keeps nothing
    assert refused.status_code == 400
    assert session_keys(client) == []


def _staff_id(client, username: str) -> int:
    return db(
        client, lambda: StaffUser.select(StaffUser.id).where(StaffUser.username == username).first()
    )["id"]


def _two_devices(make_client, username: str, password: str = PASSWORD):
    devices = []
    for _ in range(2):
        device = make_client()
        signed_in = post_form(device, "/staf/masuk", {"username": username, "password": password})
        assert signed_in.url.path == "/opd"
        devices.append(device)
    return devices


def _signed_out(device) -> bool:
    response = device.get("/opd", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"].startswith("/staf/masuk")


def test_admin_reset_role_or_opd_change_ends_every_session_of_the_account(make_client):
    admin = make_client()
    make_staff(admin, "admin")
    staff_sign_in(admin, "admin-kota")
    make_staff(admin, "opd_staff", opd_slug="dlh")
    staff_id = _staff_id(admin, "opd_staff-dlh")
    opds = {r["slug"]: r["id"] for r in db(admin, lambda: Opd.select(Opd.slug, Opd.id))}
    other_opd = next(i for slug, i in opds.items() if slug != "dlh")

    devices = _two_devices(make_client, "opd_staff-dlh")
    post_form(
        admin, f"/admin/staf/{staff_id}", {"action": "password", "password": "sandi-baru-1234"}
    )
    assert all(_signed_out(d) for d in devices)

    devices = _two_devices(make_client, "opd_staff-dlh", "sandi-baru-1234")
    # Saving the same role and OPD changes nothing, and signs no one out.
    post_form(
        admin,
        f"/admin/staf/{staff_id}",
        {"action": "role", "role": "opd_staff", "opd": str(opds["dlh"])},
    )
    assert not any(_signed_out(d) for d in devices)
    post_form(
        admin,
        f"/admin/staf/{staff_id}",
        {"action": "role", "role": "opd_staff", "opd": str(other_opd)},
    )
    assert all(_signed_out(d) for d in devices)
    row = db(admin, lambda: StaffUser.select().where(StaffUser.id == staff_id).first())
    assert row["opd"] == other_opd

    devices = _two_devices(make_client, "opd_staff-dlh", "sandi-baru-1234")
    post_form(admin, f"/admin/staf/{staff_id}", {"action": "role", "role": "operator", "opd": ""})
    assert all(_signed_out(d) for d in devices)
    row = db(admin, lambda: StaffUser.select().where(StaffUser.id == staff_id).first())
    assert (row["role"], row["opd"]) == ("operator", None)

    # The admin who did all this is still signed in.
    assert admin.get("/admin").status_code == 200


def test_role_change_refusals_say_why_and_change_nothing(make_client):
    admin = make_client()
    make_staff(admin, "admin")
    staff_sign_in(admin, "admin-kota")
    make_staff(admin, "operator")
    operator_id = _staff_id(admin, "operator-kota")
    bad = post_form(
        admin, f"/admin/staf/{operator_id}", {"action": "role", "role": "opd_staff", "opd": ""}
    )
    assert bad.status_code == 400
    assert "OPD" in soup(bad).find(id="form-errors").get_text()
    row = soup(bad).select_one('tr[data-username="operator-kota"]')
    assert row.select_one("select[name=role] option[selected]")["value"] == "opd_staff"
    own = post_form(
        admin,
        f"/admin/staf/{_staff_id(admin, 'admin-kota')}",
        {"action": "role", "role": "operator", "opd": ""},
    )
    assert own.status_code == 400
    assert "sendiri" in soup(own).find(id="form-errors").get_text()
    roles = {r["username"]: r["role"] for r in db(admin, lambda: StaffUser.select())}
    assert roles == {"admin-kota": "admin", "operator-kota": "operator"}


def test_an_admin_resetting_their_own_password_stays_signed_in_on_this_device_only(make_client):
    admin = make_client()
    make_staff(admin, "admin")
    staff_sign_in(admin, "admin-kota")
    other_device = make_client()
    staff_sign_in(other_device, "admin-kota")
    before = session_id(admin)
    admin_id = _staff_id(admin, "admin-kota")
    post_form(
        admin, f"/admin/staf/{admin_id}", {"action": "password", "password": "baru-sekali-99"}
    )
    assert admin.get("/admin").status_code == 200
    assert session_id(admin) != before
    assert other_device.get("/admin", follow_redirects=False).status_code == 303


# --- A sign-out racing a slow upload ------------------------------------------------------------


def _live_register(http: httpx.Client, server, phone_local: str, nik: str) -> str:
    http.get("/")
    token = http.cookies["csrftoken"]
    form = {"nik": nik, "name": "Rina Marlina", "phone": phone_local}
    assert http.post("/daftar", data=form, headers={"x-csrftoken": token}).url.path == "/masuk/kode"
    e164 = "+62" + re.sub(r"\D", "", phone_local).lstrip("0")
    code = server.sign_in_code(e164)
    done = http.post(
        "/masuk/kode", data={"code": code, "action": "verify"}, headers={"x-csrftoken": token}
    )
    assert done.url.path == "/lapor", done.text[:300]
    return token


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="IMG_1.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    return boundary, b"".join(parts) + f"--{boundary}--\r\n".encode()


def _read_response(sock: socket.socket) -> str:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode("latin-1")


@pytest.mark.parametrize("sign_out_in", ["same_process", "other_process"])
def test_a_sign_out_during_a_slow_upload_stays_signed_out(live_server, make_client, sign_out_in):
    app = make_client()  # a second web process on the same database
    phone = {"same_process": "0812-7777-0001", "other_process": "0812-7777-0002"}[sign_out_in]
    with httpx.Client(base_url=live_server.url, follow_redirects=True) as http:
        token = _live_register(http, live_server, phone, valid_nik(71))
        sid = http.cookies[COOKIE]
        settings = app.app.state.services.settings

        async def signed_in_two_minutes_ago():
            # Only the expiry says when a session was last saved: due for renewal by now.
            await HttpSession.update(
                {
                    HttpSession.expires_at: datetime.now(UTC)
                    + timedelta(seconds=settings.session_max_age_seconds - 120)
                }
            ).where(HttpSession.key == sid)

        db(app, signed_in_two_minutes_ago)

        boundary, body = _multipart(complaint_form(), jpeg_with_exif_gps(800, 600))
        port = int(live_server.url.rsplit(":", 1)[1])
        head = (
            "POST /lapor HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            f"Cookie: {COOKIE}={sid}; csrftoken={token}\r\n"
            f"x-csrftoken: {token}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as upload:
            upload.sendall(head + body[: len(body) // 2])
            time.sleep(0.5)  # the server has the headers and has loaded the session

            # Meanwhile the citizen signs out, in another tab (same process) or on another device.
            if sign_out_in == "same_process":
                out = http.post("/keluar", headers={"x-csrftoken": token})
            else:
                plant(app, sid)
                app.cookies.set("csrftoken", token, domain="127.0.0.1", path="/")
                out = app.post("/keluar", headers={"x-csrftoken": token})
            assert out.status_code == 200 and out.url.path == "/"
            assert sid not in session_keys(app)

            upload.sendall(body[len(body) // 2 :])
            response = _read_response(upload)

        status = response.split(" ", 2)[1]
        assert status == "303", response[:500]  # the filing itself went through
        # ...but the session it started with stays ended, and its response neither brings the old
        # id back nor touches the cookie (a newer sign-in's cookie may be there by now).
        assert sid not in session_keys(app)
        again = httpx.get(
            f"{live_server.url}/akun",
            headers={"accept": "application/json", "cookie": f"{COOKIE}={sid}"},
        )
        assert again.json()["signed_in"] is False
        assert not re.search(rf"(?im)^set-cookie: {COOKIE}=", response)


def test_a_session_without_a_sign_in_lasts_an_hour_and_a_signed_in_one_the_full_time(make_client):
    client = make_client()
    started = datetime.now(UTC)
    post_form(client, "/daftar", {"nik": valid_nik(5), "name": "Siti", "phone": "0812-3456-0005"})
    pending = db(client, lambda: HttpSession.select(HttpSession.expires_at))
    assert len(pending) == 1
    # The pending sign-up (name, number, NIK hash) is gone within the hour if never finished.
    assert pending[0]["expires_at"] <= started + timedelta(seconds=3600 + 60)

    post_form(client, "/masuk/kode", {"code": last_code(client, "+6281234560005")})
    signed_in = db(client, lambda: HttpSession.select(HttpSession.expires_at))
    max_age = client.app.state.services.settings.session_max_age_seconds
    assert signed_in[0]["expires_at"] >= started + timedelta(seconds=max_age - 60)


# --- The purge job ------------------------------------------------------------------------------


@pytest.mark.clock
def test_the_purge_job_drops_expired_sessions_and_old_codes_and_keeps_the_rest(make_client):
    from web.jobs.runner import JobRunner, default_jobs

    client = make_client()
    register(client)  # a live session, and a used code from just now
    settings = client.app.state.services.settings
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=3)

    async def old_rows():
        await HttpSession.insert(
            HttpSession(key="expired-1", data=b"{}", expires_at=now - timedelta(seconds=1))
        )
        base = {"ip": "10.0.0.1", "purpose": "sign_in", "code_hash": "0" * 64, "attempts": 0}
        await SignInCode.insert(
            SignInCode(  # used days ago
                phone="+6281200000001",
                created_at=long_ago,
                expires_at=long_ago + timedelta(minutes=5),
                used_at=long_ago,
                **base,
            ),
            SignInCode(  # never used, expired days ago
                phone="+6281200000002",
                created_at=long_ago,
                expires_at=long_ago + timedelta(minutes=5),
                **base,
            ),
            SignInCode(  # still valid
                phone="+6281200000003",
                created_at=now,
                expires_at=now + timedelta(minutes=5),
                **base,
            ),
        )

    db(client, old_rows)
    job = next(
        j
        for j in default_jobs(settings, client.app.state.services.messenger, ZoneInfo("UTC"))
        if j.name == "sign_in_cleanup"
    )
    assert job.exclusive  # one process at a time
    result = db(client, lambda: JobRunner([job]).run_job(job, datetime.now(UTC)))
    assert result == "sessions: 1, codes: 2"

    assert "expired-1" not in session_keys(client)
    assert citizen_signed_in(client)
    phones = {r["phone"] for r in db(client, lambda: SignInCode.select(SignInCode.phone))}
    # The code used to sign in just now still counts towards the per-number limit.
    assert phones == {DEMO_PHONE_E164, "+6281200000003"}
