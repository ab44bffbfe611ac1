"""The outbox protocol of ``POST /lapor`` over HTTP (README, "The outbox protocol").

Every JSON answer names the item it answers (a captive portal's 200 names none), an item is filed
only for the account that wrote it (a shared phone), a fault on our side asks for a retry (503 with
Retry-After) instead of refusing the item, and ``GET /akun`` tells the outbox who is signed in.
"""

from __future__ import annotations

import uuid

from minio import Minio

from db.tables import Citizen, Complaint, ComplaintPhoto, TicketSequence
from tests.factories import citizen_sign_in, complaint_form, photo_files, stored_files
from tests.helpers import DEMO_PHONE_E164, db, form_value, post_form, register, soup, valid_nik
from tests.html import texts_of
from tests.images import png_bytes
from tests.query_counter import count_queries

JSON = {"accept": "application/json"}
OTHER_PHONE = "081299990000"


def account_of(client) -> dict:
    response = client.get("/akun", headers=JSON)
    assert response.status_code == 200
    return response.json()


def send(client, form: dict, *, owner: str | None = None, files=None):
    """Send as the outbox does: Accept JSON, the CSRF header, and the owner the page learned from
    /akun when the item was written (``owner=""`` leaves the field out)."""
    data = dict(form)
    owner = account_of(client)["account"] if owner is None else owner
    if owner:
        data["owner"] = owner
    return post_form(client, "/lapor", data, files=files, headers_extra=JSON)


def assert_names(response, key: str) -> None:
    assert response.headers["x-aduan-outbox"] == key
    assert response.json()["client_key"] == key


def sign_out(client) -> None:
    assert post_form(client, "/keluar", {}, follow_redirects=False).status_code == 303


def test_every_json_answer_names_the_item_it_answers(client, make_client):
    register(client)
    form = complaint_form()
    key = form["client_key"]

    created = send(client, form, files=photo_files(png_bytes()))
    assert created.status_code == 201
    assert_names(created, key)
    number = created.json()["number"]
    assert created.json() == {
        "number": number,
        "url": f"/laporan/{number}",
        "created": True,
        "client_key": key,
    }

    again = send(client, form, files=photo_files(png_bytes()))
    assert again.status_code == 200
    assert_names(again, key)
    assert again.json()["number"] == number and again.json()["created"] is False

    bad_form = complaint_form(title="x")
    bad = send(client, bad_form)
    assert bad.status_code == 400
    assert "Judul" in bad.json()["errors"]["title"]
    assert_names(bad, bad_form["client_key"])

    # The key as received: stripped and cut to 64 characters, "" when there is none.
    long_key = "k" * 100
    mangled = send(client, complaint_form(client_key=f"  {long_key}  "))
    assert mangled.status_code == 400
    assert_names(mangled, "k" * 64)
    keyless = complaint_form()
    del keyless["client_key"]
    without = send(client, keyless)
    assert without.status_code == 400
    assert_names(without, "")

    anonymous = make_client()
    signed_out = post_form(anonymous, "/lapor", form, headers_extra=JSON)
    assert signed_out.status_code == 401
    assert signed_out.json()["sign_in"] == "/masuk?next=/menunggu"
    assert_names(signed_out, key)

    assert db(client, lambda: Complaint.count()) == 1


def test_an_item_is_filed_only_for_the_account_that_wrote_it(client, settings):
    """A shared phone: A writes items and signs out, B signs in on the same phone."""
    register(client)
    owner_a = account_of(client)["account"]
    filed = complaint_form(title="Lampu jalan mati di gang")
    first = send(client, filed, files=photo_files(png_bytes()))
    assert first.status_code == 201
    number = first.json()["number"]
    waiting = complaint_form(title="Sampah menumpuk di pasar")
    sign_out(client)

    register(client, nik=valid_nik(42), phone=OTHER_PHONE, name="Orang Lain")
    owner_b = account_of(client)["account"]
    assert owner_b != owner_a
    files_before = stored_files(settings.media_dir)

    # A's waiting item, sent while B is signed in: refused, nothing stored, nothing written.
    refused = send(client, waiting, owner=owner_a, files=photo_files(png_bytes(), png_bytes()))
    assert refused.status_code == 409
    assert refused.json()["owner_mismatch"] is True
    assert "akun lain" in refused.json()["errors"]["__all__"]
    assert_names(refused, waiting["client_key"])
    # A's item that was already filed: B must not learn its ticket number.
    resent = send(client, filed, owner=owner_a, files=photo_files(png_bytes()))
    assert resent.status_code == 409
    assert resent.json()["owner_mismatch"] is True
    assert "number" not in resent.json()
    assert number not in resent.text
    # An item without an owner (a page from before the owner check) is not filed under B either.
    unowned = send(client, waiting, owner="", files=photo_files(png_bytes()))
    assert unowned.status_code == 409
    assert unowned.json()["owner_mismatch"] is True
    assert_names(unowned, waiting["client_key"])

    assert db(client, lambda: Complaint.count()) == 1
    assert db(client, lambda: ComplaintPhoto.count()) == 1
    assert stored_files(settings.media_dir) == files_before
    assert "Sampah menumpuk di pasar" not in client.get("/laporan").text

    # Even claiming the key as B's own does not reveal A's ticket.
    claimed = send(client, filed, owner=owner_b)
    assert claimed.status_code == 409
    assert "number" not in claimed.json()
    assert number not in claimed.text

    # Back on A's account, A's waiting item goes through, under A.
    sign_out(client)
    citizen_sign_in(client)
    assert account_of(client)["account"] == owner_a
    sent = send(client, waiting, owner=owner_a, files=photo_files(png_bytes()))
    assert sent.status_code == 201
    mine = client.get("/laporan")
    assert "Sampah menumpuk di pasar" in texts_of(mine, ".ticket-card .ticket-title")
    assert number in texts_of(mine, ".ticket-card .ticket-number")


def test_a_plain_form_post_needs_no_owner(client):
    register(client)
    response = post_form(client, "/lapor", complaint_form(), follow_redirects=False)
    assert response.status_code == 303
    assert "x-aduan-outbox" not in response.headers
    assert db(client, lambda: Complaint.count()) == 1


def test_storage_outage_asks_for_a_retry_and_the_same_key_files_once(
    make_client, s3_relay, s3_server
):
    bucket = f"aduan-{uuid.uuid4().hex[:10]}"
    client = make_client(
        s3_endpoint=s3_relay.endpoint,
        s3_access_key="test",
        s3_secret_key="testtest",
        s3_bucket=bucket,
        s3_secure=False,
    )
    register(client)
    s3 = Minio(
        endpoint=s3_server,
        access_key="test",
        secret_key="testtest",
        secure=False,
        region="us-east-1",
    )

    def objects() -> list[str]:
        return [o.object_name for o in s3.list_objects(bucket_name=bucket, recursive=True)]

    form = complaint_form(title="Banjir setinggi lutut")
    s3_relay.down()
    for _ in range(2):  # each resend during the outage gets the same answer
        outage = send(client, form, files=photo_files(png_bytes(), png_bytes()))
        assert outage.status_code == 503
        assert outage.headers["retry-after"] == "30"
        assert outage.json()["retry_after"] == 30
        assert "Foto tidak dapat disimpan" in outage.json()["errors"]["__all__"]
        assert_names(outage, form["client_key"])

    # Without JavaScript: the same 503, and the form keeps what the citizen typed.
    page = post_form(client, "/lapor", form, files=photo_files(png_bytes()))
    assert page.status_code == 503
    assert page.headers["retry-after"] == "30"
    assert "Foto tidak dapat disimpan" in soup(page).find(id="form-errors").get_text()
    assert form_value(page, "title") == "Banjir setinggi lutut"
    assert form_value(page, "client_key") == form["client_key"]

    assert db(client, lambda: Complaint.count()) == 0
    assert db(client, lambda: ComplaintPhoto.count()) == 0

    s3_relay.up()
    assert objects() == []  # no orphan files from the failed tries
    sent = send(client, form, files=photo_files(png_bytes(), png_bytes()))
    assert sent.status_code == 201
    assert_names(sent, form["client_key"])
    again = send(client, form, files=photo_files(png_bytes(), png_bytes()))
    assert again.status_code == 200
    assert again.json()["number"] == sent.json()["number"]
    assert db(client, lambda: Complaint.count()) == 1
    assert len(objects()) == 4  # two photos and their thumbnails, once


def test_an_unexpected_fault_asks_for_a_retry(client, settings):
    """A ticket number already taken makes the insert fail after the photos were stored."""
    register(client)
    assert send(client, complaint_form()).status_code == 201

    async def forget_the_counter():
        await TicketSequence.delete(force=True)

    db(client, forget_the_counter)
    form = complaint_form(title="Drainase tersumbat total")
    response = send(client, form, files=photo_files(png_bytes()))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert response.json()["retry_after"] == 30
    assert "gangguan di server" in response.json()["errors"]["__all__"]
    assert_names(response, form["client_key"])
    assert db(client, lambda: Complaint.count()) == 1
    assert stored_files(settings.media_dir) == []


def test_akun_tells_the_outbox_who_is_signed_in(client):
    signed_out = client.get("/akun", headers=JSON)
    assert signed_out.json() == {"signed_in": False, "account": None, "label": None}
    assert signed_out.headers["cache-control"] == "private, no-store"
    assert "Accept" in signed_out.headers["vary"]

    register(client)
    citizen = db(
        client, lambda: Citizen.select(Citizen.id).where(Citizen.phone == DEMO_PHONE_E164).first()
    )
    with count_queries() as seen:
        signed_in = client.get("/akun", headers=JSON)
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert "Accept" in signed_in.headers["vary"]
    answer = signed_in.json()
    assert answer["signed_in"] is True
    assert answer["account"] == str(citizen["id"])
    assert answer["label"] == "+62 812••••2222"
    assert DEMO_PHONE_E164 not in signed_in.text
    assert len([q for q in seen if '"citizen"' in q]) == 1

    # The account is the one items are checked against when they are sent.
    form = complaint_form()
    assert send(client, form, owner=answer["account"]).status_code == 201
    assert send(client, complaint_form(), owner=answer["account"] + "0").status_code == 409

    sign_out(client)
    assert account_of(client) == {"signed_in": False, "account": None, "label": None}
