"""Registration and sign-in over HTTP, against the real database and the dev messenger."""

from __future__ import annotations

import pytest

from db.tables import AuditLog, Citizen, HttpSession, SignInCode
from tests.helpers import (
    DEMO_PHONE_E164,
    DEMO_PHONE_LOCAL,
    db,
    field_error,
    form_value,
    last_code,
    post_form,
    register,
    soup,
    valid_nik,
)
from tests.html import texts_of
from web.citizen import accounts
from web.forms import FormErrors


def test_register_with_valid_nik_and_number_signs_the_citizen_in(client):
    nik = valid_nik(7)
    response = register(client, nik=nik, phone="0812 1111 2222", name="  Siti   Aminah ")
    assert response.status_code == 200
    assert response.url.path == "/lapor"

    citizens = db(client, lambda: Citizen.select())
    assert len(citizens) == 1
    citizen = citizens[0]
    assert citizen["phone"] == DEMO_PHONE_E164
    assert citizen["name"] == "Siti Aminah"
    # Only a keyed hash and a mask are stored, never the NIK itself.
    assert nik not in str(citizen)
    assert citizen["nik_masked"] == f"{nik[:4]}••••••••{nik[-4:]}"
    audit = db(client, lambda: AuditLog.select(AuditLog.action))
    assert {"action": "citizen.registered"} in audit

    account = client.get("/akun")
    assert citizen["nik_masked"] in texts_of(account, ".details dd")
    assert nik not in account.text


@pytest.mark.parametrize(
    ("nik", "fragment"),
    [
        ("36720155059000", "16"),  # too short
        ("3672015505900000", "0000"),  # serial 0000
        ("9972015505900001", "provinsi"),  # no province 99
        ("3672013213900001", "tanggal"),  # 32nd day of a month
    ],
)
def test_register_with_invalid_nik_keeps_the_form_and_stores_nothing(client, nik, fragment):
    response = post_form(client, "/daftar", {"nik": nik, "name": "Budi", "phone": DEMO_PHONE_LOCAL})
    assert response.status_code == 400
    assert fragment.lower() in field_error(response, "nik").lower()
    # What the user typed comes back: the NIK to its owner, name and phone too.
    assert form_value(response, "nik") == nik
    assert form_value(response, "name") == "Budi"
    assert form_value(response, "phone") == DEMO_PHONE_LOCAL
    assert db(client, lambda: Citizen.count()) == 0
    assert db(client, lambda: SignInCode.count()) == 0


@pytest.mark.parametrize("phone", ["0254-391234", "+1 202 555 0101", "0812", "hello"])
def test_register_with_invalid_phone_is_refused(client, phone):
    response = post_form(client, "/daftar", {"nik": valid_nik(), "name": "Budi", "phone": phone})
    assert response.status_code == 400
    assert field_error(response, "phone")
    assert db(client, lambda: Citizen.count()) == 0


def test_strict_city_policy_refuses_a_nik_from_another_city(make_client):
    client = make_client(nik_prefix_policy="strict")
    outsider = "3201" + valid_nik()[4:]  # Kabupaten Bogor
    response = post_form(
        client, "/daftar", {"nik": outsider, "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 400
    assert "Cilegon" in field_error(response, "nik")

    lenient = make_client(nik_prefix_policy="lenient")
    response = post_form(
        lenient, "/daftar", {"nik": outsider, "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 200


def test_a_nik_registers_only_once(client, make_client):
    register(client, nik=valid_nik(3))
    other = make_client()
    response = post_form(
        other, "/daftar", {"nik": valid_nik(3), "name": "Lain", "phone": "081299998888"}
    )
    assert response.status_code == 400
    assert "sudah terdaftar" in field_error(response, "nik")


def test_sign_in_with_code_and_the_code_works_only_once(client):
    register(client)
    client.post("/keluar", headers={"x-csrftoken": client.cookies.get("csrftoken")})
    assert client.get("/laporan", follow_redirects=False).status_code in (302, 303)

    response = post_form(client, "/masuk", {"phone": "+62 812-1111-2222"})
    assert response.status_code == 200
    code = last_code(client, DEMO_PHONE_E164)
    response = post_form(client, "/masuk/kode", {"code": code, "action": "verify"})
    assert response.url.path == "/laporan"
    assert soup(response).find("h1").get_text() == "Laporan saya"

    settings = client.app.state.services.settings

    async def reuse():
        await accounts.verify_code(
            phone=DEMO_PHONE_E164, purpose="sign_in", code=code, settings=settings
        )

    with pytest.raises(FormErrors) as refused:
        db(client, reuse)
    assert "kedaluwarsa atau sudah dipakai" in refused.value.errors["code"]


def test_wrong_codes_burn_the_code(client, settings):
    register(client)
    client.post("/keluar", headers={"x-csrftoken": client.cookies.get("csrftoken")})
    post_form(client, "/masuk", {"phone": DEMO_PHONE_LOCAL})
    good = last_code(client, DEMO_PHONE_E164)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    for _ in range(settings.otp_max_attempts):
        response = post_form(client, "/masuk/kode", {"code": wrong, "action": "verify"})
        assert response.status_code == 400
    response = post_form(client, "/masuk/kode", {"code": good, "action": "verify"})
    assert response.status_code == 400
    assert "kode baru" in field_error(response, "code").lower()


@pytest.mark.clock
def test_expired_code_is_refused(make_client):
    client = make_client(otp_ttl_seconds=0)
    response = post_form(
        client, "/daftar", {"nik": valid_nik(), "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 200
    code = last_code(client, DEMO_PHONE_E164)
    response = post_form(client, "/masuk/kode", {"code": code, "action": "verify"})
    assert response.status_code == 400
    assert "kedaluwarsa" in field_error(response, "code")
    assert db(client, lambda: Citizen.count()) == 0


def test_code_requests_are_limited_per_number(make_client):
    client = make_client(otp_per_phone_limit=2)
    register(client)
    client.post("/keluar", headers={"x-csrftoken": client.cookies.get("csrftoken")})
    # One code went out for registration; one more is allowed, the third is refused.
    assert post_form(client, "/masuk", {"phone": DEMO_PHONE_LOCAL}).status_code == 200
    response = post_form(client, "/masuk", {"phone": DEMO_PHONE_LOCAL})
    assert response.status_code == 400
    assert "Terlalu banyak" in soup(response).find(id="form-errors").get_text()


def test_code_requests_are_limited_per_ip(make_client):
    client = make_client(otp_per_ip_limit=2, otp_per_phone_limit=10)
    for serial, phone in enumerate(["081200000011", "081200000012"], start=1):
        response = post_form(
            client, "/daftar", {"nik": valid_nik(serial), "name": "Budi", "phone": phone}
        )
        assert response.status_code == 200
    response = post_form(
        client, "/daftar", {"nik": valid_nik(9), "name": "Budi", "phone": "081200000013"}
    )
    assert response.status_code == 400
    assert "jaringan ini" in soup(response).find(id="form-errors").get_text()


def test_unknown_number_is_told_to_register(client):
    response = post_form(client, "/masuk", {"phone": "081277776666"})
    assert response.status_code == 400
    assert "belum terdaftar" in field_error(response, "phone")
    assert db(client, lambda: SignInCode.count()) == 0


def test_post_without_csrf_token_is_refused(client):
    response = client.post(
        "/daftar", data={"nik": valid_nik(), "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 403
    assert db(client, lambda: SignInCode.count()) == 0


def test_sign_up_through_whatsapp_cloud_api(make_client, fake_whatsapp):
    """With the WhatsApp messenger on, the code travels to the (fake) Cloud API and works."""
    client = make_client(
        messenger="whatsapp",
        whatsapp_base_url=fake_whatsapp.url,
        whatsapp_token="test-token",
        whatsapp_sender_id="1234567890",
    )
    response = post_form(
        client, "/daftar", {"nik": valid_nik(), "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 200
    assert len(fake_whatsapp.requests) == 1
    sent = fake_whatsapp.requests[0]
    assert sent.path.endswith("/1234567890/messages")
    assert {k.lower(): v for k, v in sent.headers.items()}["authorization"] == "Bearer test-token"
    assert sent.json["to"] == "6281211112222"
    code = sent.json["template"]["components"][0]["parameters"][0]["text"]
    response = post_form(client, "/masuk/kode", {"code": code, "action": "verify"})
    assert response.url.path == "/lapor"
    assert db(client, lambda: Citizen.count()) == 1


def test_whatsapp_outage_is_explained_and_the_form_kept(make_client, fake_whatsapp):
    fake_whatsapp.respond_with(500, {"error": {"message": "Service temporarily unavailable"}})
    client = make_client(
        messenger="whatsapp",
        whatsapp_base_url=fake_whatsapp.url,
        whatsapp_token="t",
        whatsapp_sender_id="1",
    )
    response = post_form(
        client, "/daftar", {"nik": valid_nik(), "name": "Budi", "phone": DEMO_PHONE_LOCAL}
    )
    assert response.status_code == 400
    assert "tidak dapat dikirim" in soup(response).find(id="form-errors").get_text()
    assert form_value(response, "name") == "Budi"
    assert db(client, lambda: Citizen.count()) == 0


def test_a_huge_next_address_is_not_carried_into_the_session(client):
    huge = "/laporan?" + "a" * 200_000
    client.get("/daftar")
    form = {"nik": valid_nik(3), "name": "Siti", "phone": DEMO_PHONE_LOCAL, "next": huge}
    response = post_form(client, "/daftar", form, follow_redirects=False)
    assert response.status_code == 303  # on to the code page
    rows = db(client, lambda: HttpSession.select(HttpSession.data))
    assert rows, "the pending sign-in is kept in a session row"
    assert max(len(bytes(row["data"])) for row in rows) < 5_000


def test_the_same_nik_registering_twice_at_once_is_a_form_error_not_a_crash(client):
    import asyncio

    from web.citizen.accounts import PendingRegistration

    def pending(phone: str) -> PendingRegistration:
        return PendingRegistration(
            nik_hash="sama" * 16, nik_masked="3672••••••••0001", name="Siti", phone=phone
        )

    async def twice():
        return await asyncio.gather(
            accounts.create_citizen(pending("+6281200000001"), ip="127.0.0.1"),
            accounts.create_citizen(pending("+6281200000002"), ip="127.0.0.1"),
            return_exceptions=True,
        )

    results = db(client, twice)
    assert sorted(type(r).__name__ for r in results) == ["FormErrors", "int"], results
    refused = next(r for r in results if isinstance(r, FormErrors))
    assert "sudah terdaftar" in refused.errors["nik"]
    assert len(db(client, lambda: Citizen.select())) == 1
