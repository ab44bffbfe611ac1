"""Per-IP limits count networks, not addresses, and parallel staff guesses queue up.

Two real server processes behind a "proxy" (the test, on 127.0.0.1, which they trust): each
request says which client it forwards in X-Forwarded-For, as nginx would. Any IPv6 host holds a
whole /64, so per-IP budgets count an IPv6 client by its /64; counted per address they would be
unlimited.
"""

from __future__ import annotations

import time

import httpx
import pytest

from db.tables import AuditLog, SignInCode
from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import make_staff_user
from tests.helpers import at_once, valid_nik
from tests.html import text_of

CODES_PER_NETWORK = 2
LOOKUPS_PER_NETWORK = 3
STAFF_TRIES = 2  # per username and network; x3 per network for all usernames
SLOW_AFTER = 1
SPACING = 2  # staff_login_max_delay_seconds: turns for a username under attack, this far apart
MAX_WAIT = 3  # tries whose turn is further off are refused unchecked


@pytest.fixture(scope="module")
def servers(database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("network-limits")
    env = {
        "ADUAN_TRUSTED_PROXIES": "127.0.0.1",
        "ADUAN_OTP_PER_IP_LIMIT": str(CODES_PER_NETWORK),
        "ADUAN_ACCOUNT_LOOKUP_PER_IP_LIMIT": str(LOOKUPS_PER_NETWORK),
        "ADUAN_STAFF_LOGIN_MAX_FAILURES": str(STAFF_TRIES),
        "ADUAN_STAFF_LOGIN_SLOW_AFTER": str(SLOW_AFTER),
        "ADUAN_STAFF_LOGIN_MAX_DELAY_SECONDS": str(SPACING),
        "ADUAN_STAFF_LOGIN_MAX_WAIT_SECONDS": str(MAX_WAIT),
    }
    started = [start_server(folder, free_port(), **env) for _ in range(2)]
    yield [server for _, server in started]
    for process, _ in started:
        stop_server(process)


def post(server, path: str, data: dict, client_ip: str) -> httpx.Response:
    """One form post from a fresh browser, forwarded for ``client_ip``."""
    with httpx.Client(base_url=server.url, timeout=60) as http:
        http.get(path)
        return http.post(
            path,
            data=data,
            headers={"x-csrftoken": http.cookies["csrftoken"], "x-forwarded-for": client_ip},
        )


def request_code(server, serial: int, client_ip: str) -> httpx.Response:
    data = {"nik": valid_nik(serial), "name": "Budi", "phone": f"0812444{serial:05d}"}
    return post(server, "/daftar", data, client_ip)


def refused_for_network(response: httpx.Response) -> bool:
    return response.status_code == 400 and "jaringan ini" in response.text


def test_code_requests_from_one_ipv6_network_share_its_budget(servers):
    first, second = servers
    assert request_code(first, 1, "2001:db8:1:2::1").status_code == 303
    assert request_code(second, 2, "2001:db8:1:2::2").status_code == 303
    # Budget used up: other addresses of the same /64, in any form, are this network too.
    for serial, address in enumerate(["2001:db8:1:2:ffff:ffff:ffff:ffff", "[2001:db8:1:2::9]"], 3):
        assert refused_for_network(request_code(first, serial, address)), address
    # The neighbouring /64 is another client; its code is sent.
    assert request_code(second, 5, "2001:db8:1:3::1").status_code == 303
    assert run_async(lambda: SignInCode.count()) == 3


def test_an_ipv4_mapped_address_counts_as_the_ipv4_address(servers):
    first, second = servers
    assert request_code(first, 11, "203.0.113.5").status_code == 303
    assert request_code(second, 12, "::ffff:203.0.113.5").status_code == 303
    assert refused_for_network(request_code(first, 13, "203.0.113.5"))
    # IPv4 addresses are counted one by one.
    assert request_code(first, 14, "203.0.113.6").status_code == 303


def test_account_look_ups_from_one_ipv6_network_share_its_budget(servers):
    for last in range(LOOKUPS_PER_NETWORK):
        answer = post(
            servers[last % 2], "/masuk", {"phone": f"08127777555{last}"}, f"2001:db8:5::{last + 1}"
        )
        assert "belum terdaftar" in text_of(answer, "#form-errors")
    refused = post(servers[0], "/masuk", {"phone": "081277775559"}, "2001:db8:5:0:1234::1")
    assert (
        refused.status_code == 400 and "Terlalu banyak percobaan dari jaringan ini" in refused.text
    )


def sign_in(server, username: str, client_ip: str, password: str = "tebakan-salah"):
    return post(server, "/staf/masuk", {"username": username, "password": password}, client_ip)


def too_many(response: httpx.Response) -> bool:
    return response.status_code == 400 and "Terlalu banyak percobaan masuk" in text_of(
        response, "#form-errors"
    )


def failures() -> list[dict]:
    return run_async(
        lambda: AuditLog.select(AuditLog.ip).where(AuditLog.action == "staff.sign_in_failed")
    )


def test_staff_tries_per_username_and_per_ip_count_the_ipv6_network(servers):
    first, second = servers
    run_async(lambda: make_staff_user("walikota"))
    assert "salah" in text_of(sign_in(first, "walikota", "2001:db8:7:7::1"), "#form-errors")
    assert "salah" in text_of(sign_in(second, "walikota", "2001:db8:7:7::2"), "#form-errors")
    assert too_many(sign_in(first, "walikota", "2001:db8:7:7:abcd::3"))
    # The audit log keeps each full address, not the network.
    assert sorted(row["ip"] for row in failures()) == ["2001:db8:7:7::1", "2001:db8:7:7::2"]

    # Per network for all usernames: three times the per-username limit.
    for n in range(STAFF_TRIES * 3):
        guess = sign_in(servers[n % 2], f"tebakan-{n}", f"2001:db8:8:8::{n + 1}")
        assert "salah" in text_of(guess, "#form-errors")
    assert too_many(sign_in(first, "lain", "2001:db8:8:8:ffff::c"))
    assert "salah" in text_of(sign_in(second, "lain", "2001:db8:8:9::c"), "#form-errors")


def test_parallel_guesses_from_many_networks_are_queued_not_all_checked(servers):
    """Twelve guesses at once, each from its own network, over two processes: before, each slept
    its delay side by side with the others and all twelve passwords were checked at once."""
    run_async(lambda: make_staff_user("walikota"))
    started = time.monotonic()
    answers = at_once(
        [
            lambda n=n: sign_in(servers[n % 2], "walikota", f"2001:db8:{n + 100:x}::1")
            for n in range(12)
        ]
    )
    elapsed = time.monotonic() - started
    checked = len(failures())
    refused = sum(too_many(a) for a in answers)
    assert checked + refused == 12
    assert refused >= 1
    # Turns are handed out at least 1 s apart (SPACING after the first slowed-down one), none
    # further than MAX_WAIT ahead: within ``elapsed`` seconds, at most this many checks. Generous
    # on a slow machine; all twelve at once would exceed it.
    assert checked <= SLOW_AFTER + 1 + (elapsed + MAX_WAIT) / SPACING + 1, (checked, elapsed)


def test_the_owner_under_attack_still_signs_in(servers):
    from tests.staff_helpers import PASSWORD

    run_async(lambda: make_staff_user("walikota"))
    for n in range(3):
        sign_in(servers[n % 2], "walikota", f"198.51.100.{n + 1}")
    owner = sign_in(servers[1], "walikota", "192.0.2.10", PASSWORD)
    assert owner.status_code == 303 and owner.headers["location"] == "/operator"
