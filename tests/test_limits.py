"""Limits that hold under attack: sign-in codes, code requests, staff passwords, look-ups.

The concurrency tests fire requests at the same moment at TWO real server processes on the test
database, as a city's two web workers would receive them; distinct client addresses are real
loopback addresses (127.0.0.2 ...), so nothing about proxies is assumed.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.tables import AuditLog, Citizen, Notification, PushSubscription, RateLimit, SignInCode
from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import make_staff_user
from tests.helpers import (
    DEMO_PHONE_E164,
    DEMO_PHONE_LOCAL,
    at_once,
    db,
    field_error,
    form_value,
    post_form,
    soup,
    valid_nik,
)
from tests.html import text_of
from tests.staff_helpers import PASSWORD, make_staff, staff_sign_in
from web.jobs.runner import default_jobs

# The limits the two servers run with (the defaults, written out so the numbers below make sense).
MAX_CODE_GUESSES = 5
CODES_PER_NUMBER = 3
STAFF_TRIES = 5


@pytest.fixture(scope="module")
def two_servers(database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("two-servers")
    env = {
        "ADUAN_JOBS_IN_PROCESS": "false",
        "ADUAN_OTP_MAX_ATTEMPTS": str(MAX_CODE_GUESSES),
        "ADUAN_OTP_PER_PHONE_LIMIT": str(CODES_PER_NUMBER),
        # Every request here comes from one address: the per-IP limits are not under test.
        "ADUAN_OTP_PER_IP_LIMIT": "1000",
        "ADUAN_ACCOUNT_LOOKUP_PER_IP_LIMIT": "1000",
        "ADUAN_STAFF_LOGIN_MAX_FAILURES": str(STAFF_TRIES),
    }
    started = [start_server(folder, free_port(), **env) for _ in range(2)]
    yield [server for _, server in started]
    for process, _ in started:
        stop_server(process)


def browser(source_ip: str = "127.0.0.1", cookies=None) -> httpx.Client:
    """A client that connects from ``source_ip`` (any 127.x address is the loopback)."""
    return httpx.Client(
        transport=httpx.HTTPTransport(local_address=source_ip),
        cookies=cookies,
        timeout=60,
    )


def csrf(client: httpx.Client, url: str) -> str:
    client.get(url + "/")
    return client.cookies["csrftoken"]


def server_codes(servers, phone_e164: str) -> list[str]:
    pattern = re.compile(rf"DEV MESSENGER code for {re.escape(phone_e164)}: (\d{{6}})")
    return [
        code
        for server in servers
        for code in pattern.findall(server.log_path.read_text(errors="replace"))
    ]


def start_registration(servers, nik: str, phone_local: str) -> tuple[httpx.Client, str]:
    """Register on the first server; returns the signed-up browser and the token for its form."""
    client = browser()
    token = csrf(client, servers[0].url)
    response = client.post(
        servers[0].url + "/daftar",
        data={"nik": nik, "name": "Budi", "phone": phone_local},
        headers={"x-csrftoken": token},
    )
    assert response.status_code == 303, response.text[:300]
    return client, token


def test_twenty_wrong_codes_at_once_over_two_processes_check_at_most_the_limit(two_servers):
    phone_e164 = "+6281233330001"
    client, token = start_registration(two_servers, valid_nik(31), "081233330001")
    good = two_servers[0].sign_in_code(phone_e164)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"

    def guess(server, code=wrong):
        with browser(cookies=client.cookies) as other:
            return other.post(
                server.url + "/masuk/kode",
                data={"code": code, "action": "verify"},
                headers={"x-csrftoken": token},
            )

    answers = at_once([lambda s=two_servers[i % 2]: guess(s) for i in range(20)])
    assert {a.status_code for a in answers} == {400}
    attempts = run_async(lambda: SignInCode.select(SignInCode.attempts, SignInCode.used_at))
    assert attempts[0]["attempts"] == MAX_CODE_GUESSES  # counted exactly, none lost
    assert attempts[0]["used_at"] is not None  # burnt

    late = guess(two_servers[1], good)
    assert late.status_code == 400
    assert "kode baru" in field_error(late, "code").lower()
    assert run_async(lambda: Citizen.count()) == 0


def test_two_right_codes_at_once_sign_in_once(two_servers):
    def make_citizen():
        return Citizen.insert(
            Citizen(nik_hash="x" * 64, nik_masked="3672", phone=DEMO_PHONE_E164, name="Siti")
        )

    run_async(make_citizen)
    client = browser()
    token = csrf(client, two_servers[0].url)
    sent = client.post(
        two_servers[0].url + "/masuk",
        data={"phone": DEMO_PHONE_LOCAL},
        headers={"x-csrftoken": token},
    )
    assert sent.status_code == 303
    code = two_servers[0].sign_in_code(DEMO_PHONE_E164)

    def answer(server):
        with browser(cookies=client.cookies) as other:
            return other.post(
                server.url + "/masuk/kode",
                data={"code": code, "action": "verify"},
                headers={"x-csrftoken": token},
            )

    answers = at_once([lambda: answer(two_servers[0]), lambda: answer(two_servers[1])])
    # One signs in. The other is refused: either its code check lost ("sudah dipakai", 400), or
    # it arrived after the winner's sign-in had rotated the shared session away, so it has no
    # sign-in waiting and is sent back to /masuk.
    signed = [a for a in answers if a.status_code == 303 and a.headers["location"] == "/laporan"]
    assert len(signed) == 1, [(a.status_code, a.headers.get("location")) for a in answers]
    loser = next(a for a in answers if a is not signed[0])
    assert loser.status_code == 400 or (
        loser.status_code == 303 and loser.headers["location"] == "/masuk"
    ), (loser.status_code, loser.headers.get("location"))
    signed_in = run_async(lambda: AuditLog.count().where(AuditLog.action == "citizen.signed_in"))
    assert signed_in == 1


def test_sixteen_new_devices_at_once_over_two_processes_keep_the_cap(two_servers):
    """Each subscribe trims the person's browsers to the newest ADUAN_PUSH_MAX_DEVICES (10) in
    its own transaction: at once, each must see the others' rows, or more would stay."""
    from tests.fake_push import FakePushService

    run_async(
        lambda: Citizen.insert(
            Citizen(nik_hash="y" * 64, nik_masked="3672", phone=DEMO_PHONE_E164, name="Siti")
        )
    )
    client = browser()
    token = csrf(client, two_servers[0].url)
    headers = {"x-csrftoken": token}
    client.post(two_servers[0].url + "/masuk", data={"phone": DEMO_PHONE_LOCAL}, headers=headers)
    code = two_servers[0].sign_in_code(DEMO_PHONE_E164)
    signed_in = client.post(
        two_servers[0].url + "/masuk/kode", data={"code": code, "action": "verify"}, headers=headers
    )
    assert signed_in.status_code == 303

    def subscribe(n: int) -> httpx.Response:
        keys = FakePushService.keys_for(f"https://fcm.googleapis.com/fcm/send/phone-{n}")
        with browser(cookies=client.cookies) as other:
            return other.post(
                two_servers[n % 2].url + "/notifikasi/langganan",
                json=keys.as_json(),
                headers={**headers, "Accept": "application/json"},
            )

    answers = at_once([lambda n=n: subscribe(n) for n in range(16)])
    assert [a.status_code for a in answers] == [201] * 16
    assert run_async(lambda: PushSubscription.count()) == 10
    client.close()


@pytest.mark.clock
def test_twelve_code_requests_at_once_send_exactly_the_limit(two_servers):
    phone_e164, phone_local = "+6281233330002", "081233330002"
    run_async(
        lambda: Citizen.insert(
            Citizen(nik_hash="y" * 64, nik_masked="3672", phone=phone_e164, name="Siti")
        )
    )
    clients = [browser() for _ in range(12)]
    tokens = [csrf(c, two_servers[0].url) for c in clients]

    def request_code(i):
        return clients[i].post(
            two_servers[i % 2].url + "/masuk",
            data={"phone": phone_local},
            headers={"x-csrftoken": tokens[i]},
        )

    answers = at_once([lambda i=i: request_code(i) for i in range(12)])
    assert sorted(a.status_code for a in answers).count(303) == CODES_PER_NUMBER
    refused = [a for a in answers if a.status_code == 400]
    assert len(refused) == 12 - CODES_PER_NUMBER
    assert all("untuk nomor ini" in text_of(a, "#form-errors") for a in refused)
    stored = run_async(lambda: SignInCode.count().where(SignInCode.phone == phone_e164))
    assert stored == CODES_PER_NUMBER
    time.sleep(0.3)  # the logs are unbuffered; let the last lines land
    assert len(server_codes(two_servers, phone_e164)) == CODES_PER_NUMBER
    for c in clients:
        c.close()


def test_sixteen_wrong_passwords_at_once_are_not_all_checked_and_the_owner_still_gets_in(
    two_servers,
):
    run_async(lambda: make_staff_user("walikota"))
    stranger = [browser("127.0.0.3") for _ in range(16)]
    tokens = [csrf(c, two_servers[0].url) for c in stranger]

    def try_password(i, password="tebakan-salah"):
        return stranger[i].post(
            two_servers[i % 2].url + "/staf/masuk",
            data={"username": "walikota", "password": password},
            headers={"x-csrftoken": tokens[i]},
        )

    answers = at_once([lambda i=i: try_password(i) for i in range(16)])
    assert {a.status_code for a in answers} == {400}
    checked = run_async(lambda: AuditLog.count().where(AuditLog.action == "staff.sign_in_failed"))
    assert checked == STAFF_TRIES
    assert sum("Terlalu banyak percobaan" in text_of(a, "#form-errors") for a in answers) == (
        16 - STAFF_TRIES
    )

    # The stranger's address stays refused, even with the right password...
    again = try_password(0, PASSWORD)
    assert again.status_code == 400
    assert "Terlalu banyak percobaan" in text_of(again, "#form-errors")
    # ...while the owner, at the office, signs in at once.
    owner = browser("127.0.0.4")
    token = csrf(owner, two_servers[1].url)
    signed_in = owner.post(
        two_servers[1].url + "/staf/masuk",
        data={"username": "walikota", "password": PASSWORD},
        headers={"x-csrftoken": token},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/operator"
    for c in [*stranger, owner]:
        c.close()


# --- In-process: look-ups, delays and warnings, clean-up ---------------------------------------


@pytest.mark.clock
def test_registered_or_not_answers_are_counted_per_ip(make_client):
    client = make_client(account_lookup_per_ip_limit=3, otp_per_ip_limit=100)
    for last in range(3):
        response = post_form(client, "/masuk", {"phone": f"08127777666{last}"})
        assert "belum terdaftar" in field_error(response, "phone")
    typed = {"nik": valid_nik(5), "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    response = post_form(client, "/daftar", typed)
    assert response.status_code == 400
    assert (
        "Terlalu banyak percobaan dari jaringan ini"
        in soup(response).find(id="form-errors").get_text()
    )
    assert all(form_value(response, name) == value for name, value in typed.items())
    assert db(client, lambda: SignInCode.count()) == 0


@pytest.mark.clock
def test_a_guessed_username_slows_down_warns_admins_and_still_lets_the_owner_in(make_client):
    client = make_client(staff_login_slow_after=2, staff_login_max_delay_seconds=1)
    admin = make_staff(client, "admin")
    make_staff(client, "operator")

    async def admin_phone():
        await PushSubscription.insert(
            PushSubscription(
                endpoint="https://push.example/admin-1", p256dh="k", auth="a", staff=admin["id"]
            )
        )

    db(client, admin_phone)
    for _ in range(2):
        wrong = post_form(client, "/staf/masuk", {"username": "operator-kota", "password": "x"})
        assert "salah" in text_of(wrong, "#form-errors")
    for _ in range(3):  # made-up usernames slow down too, but are not worth a warning
        post_form(client, "/staf/masuk", {"username": "tidak-ada", "password": "x"})
    started = time.monotonic()
    owner = post_form(client, "/staf/masuk", {"username": "operator-kota", "password": PASSWORD})
    assert time.monotonic() - started >= 1.0  # slowed down...
    assert owner.url.path == "/operator"  # ...not locked out

    warnings = db(
        client,
        lambda: AuditLog.select(AuditLog.subject).where(AuditLog.action == "staff.sign_in_attack"),
    )
    assert warnings == [{"subject": "staff:operator-kota"}]
    told = db(client, lambda: Notification.select(Notification.staff, Notification.kind))
    assert told == [{"staff": admin["id"], "kind": "sign_in_attack"}]

    admin_client = make_client()
    staff_sign_in(admin_client, admin["username"])
    page = soup(admin_client.get("/admin"))
    listed = page.select("#sign-in-warnings li[data-username]")
    assert [li["data-username"] for li in listed] == ["operator-kota"]


@pytest.mark.clock
def test_old_rate_limit_counters_are_cleaned_up(settings):
    now = datetime.now(UTC)

    async def counters():
        await RateLimit.insert(
            RateLimit(key="otp-phone:old", hits=3, reset_at=now - timedelta(minutes=1)),
            RateLimit(key="otp-phone:live", hits=1, reset_at=now + timedelta(minutes=10)),
        )

    run_async(counters)
    job = next(
        j
        for j in default_jobs(settings, None, ZoneInfo("Asia/Jakarta"))
        if j.name == "rate_limit_cleanup"
    )
    run_async(lambda: job.run(now))
    left = run_async(lambda: RateLimit.select(RateLimit.key))
    assert left == [{"key": "otp-phone:live"}]


def test_staff_delays_double_up_to_the_cap(settings):
    from dataclasses import replace

    from web.staff.auth import attack_delay

    rules = replace(settings, staff_login_slow_after=3, staff_login_max_delay_seconds=10)
    assert [attack_delay(n, rules) for n in range(1, 10)] == [0, 0, 0, 1, 2, 4, 8, 10, 10]


@pytest.mark.clock
def test_a_counter_grows_within_its_window_and_restarts_after_it():
    from web import limits

    start = datetime.now(UTC)

    async def takes():
        counts = [(await limits.take("k", window_seconds=60, now=start)).count for _ in range(3)]
        later = await limits.take("k", window_seconds=60, now=start + timedelta(seconds=59))
        fresh = await limits.take("k", window_seconds=60, now=start + timedelta(seconds=61))
        return counts, later, fresh

    counts, later, fresh = run_async(takes)
    assert counts == [1, 2, 3]
    assert later.count == 4 and later.reset_at == start + timedelta(seconds=60)
    assert fresh.count == 1 and fresh.reset_at == start + timedelta(seconds=121)


@pytest.mark.clock
def test_a_leased_place_is_held_until_freed_or_its_lease_ends():
    from web import limits

    start = datetime.now(UTC)

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    async def leases():
        take = limits.take_slot
        first = await take("tabs", slots=2, lease_seconds=30, now=at(0))
        second = await take("tabs", slots=2, lease_seconds=30, now=at(0))
        full = await take("tabs", slots=2, lease_seconds=30, now=at(29))
        renewed = await limits.renew_slot(first, lease_seconds=30, now=at(20))  # held to 50 s
        # The second holder stopped renewing (its process died): its place is free after 30 s.
        successor = await take("tabs", slots=2, lease_seconds=30, now=at(31))
        stale_renew = await limits.renew_slot(second, lease_seconds=30, now=at(32))
        await limits.release_slot(second, now=at(32))  # must not free the successor's place
        still_full = await take("tabs", slots=2, lease_seconds=30, now=at(33))
        await limits.release_slot(first, now=at(34))
        after_release = await take("tabs", slots=2, lease_seconds=30, now=at(34))
        return first, second, full, renewed, successor, stale_renew, still_full, after_release

    first, second, full, renewed, successor, stale_renew, still_full, after_release = run_async(
        leases
    )
    assert first and second and first.key != second.key
    assert full is None and renewed is True
    assert successor is not None and successor.key == second.key
    assert stale_renew is False and still_full is None
    assert after_release is not None and after_release.key == first.key


def test_places_taken_at_once_never_exceed_the_limit():
    import asyncio

    from web import limits

    async def at_once():
        return await asyncio.gather(
            *[limits.take_slot("crowd", slots=3, lease_seconds=60) for _ in range(12)]
        )

    taken = [slot for slot in run_async(at_once) if slot is not None]
    assert len(taken) == 3 and len({slot.key for slot in taken}) == 3
