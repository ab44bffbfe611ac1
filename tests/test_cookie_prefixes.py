"""Over https the session and CSRF cookies are ``__Host-`` cookies, which a sibling subdomain
(anything else under *.go.id) cannot plant; over plain http (development) they keep plain names."""

from __future__ import annotations

from tests.helpers import post_form, register
from tests.staff_helpers import make_staff, staff_sign_in

HTTPS_URL = "https://aduan.cilegon.go.id"
CREDENTIAL_COOKIES = {"session", "csrftoken"}


def https_client(make_client):
    client = make_client(public_base_url=HTTPS_URL)
    client.base_url = "https://127.0.0.1:8000"  # so the client sends Secure cookies back
    answers = []
    client.event_hooks["response"].append(answers.append)
    return client, answers


def set_cookies(answers) -> list[tuple[str, list[str]]]:
    found = []
    for response in answers:
        for header in response.headers.get_list("set-cookie"):
            name = header.split("=", 1)[0]
            found.append((name, [part.strip().lower() for part in header.split(";")[1:]]))
    return found


def citizen_signed_in(client) -> bool:
    return client.get("/akun", headers={"accept": "application/json"}).json()["signed_in"]


def test_over_https_credential_cookies_are_host_only_and_everything_still_works(make_client):
    citizen, citizen_answers = https_client(make_client)
    register(citizen)  # CSRF-protected form posts, sign-in code, session rotation
    assert citizen_signed_in(citizen)
    staff, staff_answers = https_client(make_client)
    make_staff(staff, "operator")
    staff_sign_in(staff, "operator-kota")
    assert staff.get("/operator").status_code == 200
    signed_out = post_form(staff, "/staf/keluar", {}, follow_redirects=False)
    assert signed_out.status_code == 303
    assert staff.get("/operator", follow_redirects=False).status_code == 303

    names = set()
    for name, attributes in set_cookies(citizen_answers + staff_answers):
        names.add(name)
        assert name not in CREDENTIAL_COOKIES, f"plain {name} cookie set over https"
        if name.startswith("__Host-"):
            assert "secure" in attributes and "path=/" in attributes, (name, attributes)
            assert not any(a.startswith("domain") for a in attributes), (name, attributes)
    assert {"__Host-session", "__Host-csrftoken"} <= names


def test_over_https_planted_plain_cookies_are_ignored(make_client):
    # The attacker has a page on a sibling subdomain and its own valid token and session.
    attacker, _ = https_client(make_client)
    make_staff(attacker, "operator")
    staff_sign_in(attacker, "operator-kota")
    token = attacker.cookies["__Host-csrftoken"]
    attacker_session = attacker.cookies["__Host-session"]

    # A planted "session" cookie does not sign the victim into the attacker's account.
    victim, _ = https_client(make_client)
    victim.cookies.set("session", attacker_session, domain="127.0.0.1", path="/")
    assert victim.get("/operator", follow_redirects=False).status_code == 303

    # A planted "csrftoken" does not let a cross-site form pass: the victim, signed in, has no
    # __Host-csrftoken cookie yet; the forged form carries the planted token.
    make_staff(victim, "supervisor")
    staff_sign_in(victim, "supervisor-kota")
    victim.cookies.delete("__Host-csrftoken")
    victim.cookies.set("csrftoken", token, domain="127.0.0.1", path="/")
    forged = victim.post("/staf/keluar", data={"_csrf_token": token}, follow_redirects=False)
    assert forged.status_code == 403
    assert victim.get("/operator").status_code == 200  # still signed in


def test_over_http_the_plain_names_work(make_client):
    client = make_client()
    answers = []
    client.event_hooks["response"].append(answers.append)
    make_staff(client, "operator")
    staff_sign_in(client, "operator-kota")
    assert client.get("/operator").status_code == 200
    names = {name for name, _ in set_cookies(answers)}
    assert names >= CREDENTIAL_COOKIES
    assert not any(name.startswith("__Host-") for name in names)
