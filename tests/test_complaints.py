"""Filing a complaint over HTTP: photos on both storage backends, all-or-nothing saves, idempotency,
numbering, the citizen's own list, and other people's tickets refused."""

from __future__ import annotations

import io
import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from db.tables import AuditLog, Complaint, ComplaintPhoto, TimelineEvent
from tests.factories import complaint_form, photo_files, stored_files
from tests.helpers import db, field_error, form_value, post_form, register, soup, valid_nik
from tests.html import text_of, texts_of
from tests.images import (
    bomb_png,
    exif_of,
    jpeg_with_exif_gps,
    not_an_image,
    oversize_bytes,
    png_bytes,
)
from web.city import get_city


@pytest.fixture
def citizen(client):
    register(client)
    return client


def city_year(moment: datetime) -> int:
    """The year in the ticket number: the city's year at filing, not the server's local year."""
    return moment.astimezone(ZoneInfo(get_city().timezone)).year


def _file_and_check(client, read_stored):
    camera = jpeg_with_exif_gps()
    assert exif_of(camera).get("GPSInfo"), (
        "the test photo must carry GPS data to prove it is removed"
    )
    form = complaint_form()
    response = post_form(client, "/lapor", form, files=photo_files(camera, png_bytes()))
    assert response.status_code == 200, field_error(response, "photos") or response.text[:300]
    number = response.url.path.rsplit("/", 1)[-1]
    assert text_of(response, ".notice-ok").startswith("Laporan terkirim")

    complaint = db(client, lambda: Complaint.select().first())
    assert complaint["number"] == number
    assert re.fullmatch(rf"CLG-{city_year(complaint['created_at'])}-\d{{6}}", number)
    assert complaint["status"] == "received"
    assert complaint["latitude"] == pytest.approx(-6.0021)
    assert complaint["kelurahan"] is not None  # derived from GPS
    photos = db(client, lambda: ComplaintPhoto.select().order_by(ComplaintPhoto.position))
    assert len(photos) == 2
    events = db(client, lambda: TimelineEvent.select(TimelineEvent.kind))
    assert events == [{"kind": "created"}]
    assert db(client, lambda: AuditLog.count().where(AuditLog.action == "complaint.created")) == 1

    # The citizen reads the photo back: re-encoded, upright, small, and without any metadata.
    page = soup(response)
    links = [a["href"] for a in page.select(".photo-grid a")]
    assert len(links) == 2
    full = client.get(links[0])
    assert full.status_code == 200
    assert full.headers["content-type"].startswith("image/jpeg")
    image = Image.open(io.BytesIO(full.content))
    assert max(image.size) <= 1600
    assert image.height > image.width  # orientation 6 applied
    assert not exif_of(full.content)
    assert full.content == read_stored(photos[0]["storage_key"])
    thumb = client.get(links[0] + "/kecil")
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    return number, photos


@pytest.mark.clock
def test_file_with_two_photos_on_local_folder(citizen, settings):
    def read_stored(key):
        return (settings.media_dir / key).read_bytes()

    _file_and_check(citizen, read_stored)
    assert len(stored_files(settings.media_dir)) == 4  # two photos, two thumbnails


def test_file_with_two_photos_on_minio(make_client, s3_server):
    from minio import Minio

    bucket = f"aduan-{uuid.uuid4().hex[:10]}"
    client = make_client(
        s3_endpoint=s3_server,
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

    def read_stored(key):
        response = s3.get_object(bucket_name=bucket, object_name=key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    _file_and_check(client, read_stored)
    keys = [obj.object_name for obj in s3.list_objects(bucket_name=bucket, recursive=True)]
    assert len(keys) == 4
    assert client.get("/readyz").json()["checks"]["storage"] == {"status": "pass", "backend": "s3"}


@pytest.mark.parametrize(
    ("bad_photo", "fragment"),
    [
        (not_an_image(), "bukan foto"),
        (oversize_bytes(10 * 1024 * 1024), "10 MB"),
        (bomb_png(), "piksel"),
    ],
    ids=["not-an-image", "oversize", "decompression-bomb"],
)
def test_bad_third_photo_saves_nothing_and_keeps_the_form(citizen, settings, bad_photo, fragment):
    form = complaint_form()
    files = photo_files(jpeg_with_exif_gps(), png_bytes(), bad_photo)
    response = post_form(citizen, "/lapor", form, files=files)
    assert response.status_code == 400
    message = field_error(response, "photos")
    assert "Foto ke-3" in message
    assert fragment in message
    # The form comes back with what the citizen typed.
    for name in ("title", "description", "address", "client_key", "latitude"):
        assert form_value(response, name).strip() == form[name]
    assert form_value(response, "category") == "jalan-rusak"
    assert db(citizen, lambda: Complaint.count()) == 0
    assert db(citizen, lambda: ComplaintPhoto.count()) == 0
    assert stored_files(settings.media_dir) == []


def test_storage_down_saves_nothing(make_client):
    # Nothing listens on port 9: the S3 server is "down".
    client = make_client(
        s3_endpoint="127.0.0.1:9", s3_access_key="x", s3_secret_key="y", s3_secure=False
    )
    register(client)
    response = post_form(client, "/lapor", complaint_form(), files=photo_files(png_bytes()))
    assert response.status_code == 503  # ours to fix, not the citizen's: send again later
    assert response.headers["retry-after"] == "30"
    assert "Foto tidak dapat disimpan" in soup(response).find(id="form-errors").get_text()
    assert db(client, lambda: Complaint.count()) == 0
    # Everything but filing with photos still works: the node stays in the load balancer.
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "warn"
    assert ready.json()["checks"]["database"] == {"status": "pass"}
    assert ready.json()["checks"]["storage"]["status"] == "warn"
    assert client.get("/healthz").status_code == 200


@pytest.mark.clock
def test_database_failure_after_photos_were_stored_leaves_no_files(citizen, settings):
    """A ticket number already taken makes the insert fail after the photos went to storage."""
    post_form(citizen, "/lapor", complaint_form())  # takes number 000001 ...
    year = city_year(
        db(citizen, lambda: Complaint.select(Complaint.created_at).first())["created_at"]
    )

    async def forget_the_counter():
        from db.tables import TicketSequence

        await TicketSequence.delete(force=True)  # ... and the counter would hand it out again

    db(citizen, forget_the_counter)
    form = complaint_form(title="Drainase tersumbat total")
    response = post_form(citizen, "/lapor", form, files=photo_files(png_bytes(), png_bytes()))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "30"
    assert "belum tersimpan" in soup(response).find(id="form-errors").get_text()
    assert form_value(response, "title") == "Drainase tersumbat total"
    assert db(citizen, lambda: Complaint.count()) == 1
    assert db(citizen, lambda: ComplaintPhoto.count()) == 0
    assert stored_files(settings.media_dir) == []
    assert f"CLG-{year}-000001" in texts_of(citizen.get("/laporan"), ".ticket-number")


def test_same_idempotency_key_gives_one_ticket(citizen, settings):
    form = complaint_form()
    first = post_form(citizen, "/lapor", form, files=photo_files(png_bytes()))
    second = post_form(citizen, "/lapor", form, files=photo_files(png_bytes()))
    assert first.status_code == second.status_code == 200
    assert first.url.path == second.url.path
    assert db(citizen, lambda: Complaint.count()) == 1
    assert db(citizen, lambda: ComplaintPhoto.count()) == 1
    assert len(stored_files(settings.media_dir)) == 2


def test_another_citizens_ticket_and_photos_are_refused(citizen, make_client):
    response = post_form(
        citizen,
        "/lapor",
        complaint_form(title="Lampu jalan mati total"),
        files=photo_files(png_bytes()),
    )
    ticket_url = response.url.path
    photo_url = soup(response).select_one(".photo-grid a")["href"]

    stranger = make_client()
    register(stranger, nik=valid_nik(42), phone="081299990000", name="Orang Lain")
    for url in (ticket_url, photo_url, photo_url + "/kecil"):
        refused = stranger.get(url)
        assert refused.status_code == 404
        assert "Lampu jalan mati total" not in refused.text
    assert "Lampu jalan mati total" not in stranger.get("/laporan").text

    anonymous = make_client()
    assert anonymous.get(photo_url, follow_redirects=False).status_code in (302, 303)


def test_location_rules(citizen):
    no_location = complaint_form(latitude="", longitude="", accuracy="")
    response = post_form(citizen, "/lapor", no_location)
    assert response.status_code == 400
    assert "kelurahan" in field_error(response, "kelurahan").lower()

    jakarta = complaint_form(latitude="-6.2", longitude="106.8")
    response = post_form(citizen, "/lapor", jakarta)
    assert response.status_code == 400
    assert "di luar Kota Cilegon" in field_error(response, "kelurahan")

    chosen = complaint_form(latitude="", longitude="", accuracy="", kelurahan="36.72.03.1004")
    response = post_form(citizen, "/lapor", chosen)
    assert response.status_code == 200
    assert any("Suralaya" in place for place in texts_of(response, ".details dd"))
    assert db(citizen, lambda: Complaint.count()) == 1


def test_my_complaints_lists_status_and_pages_by_keyset(citizen):
    numbers = []
    for i in range(22):
        response = post_form(
            citizen, "/lapor", complaint_form(title=f"Sampah menumpuk nomor {i:02d}")
        )
        numbers.append(response.url.path.rsplit("/", 1)[-1])
    first_page = citizen.get("/laporan")
    cards = soup(first_page).select(".ticket-card")
    assert len(cards) == 20
    assert "Sampah menumpuk nomor 21" in cards[0].get_text()  # newest first
    assert "Belum diverifikasi" in cards[0].get_text()
    more = soup(first_page).find("a", rel="next")["href"]
    second_page = citizen.get(more)
    titles = [c.get_text() for c in soup(second_page).select(".ticket-card")]
    assert len(titles) == 2
    assert "nomor 01" in titles[0] and "nomor 00" in titles[1]
    assert len(set(numbers)) == 22


def test_filing_requires_sign_in_and_keeps_the_input(make_client):
    anonymous = make_client()
    # The form itself is open (it is kept offline by the service worker) ...
    assert anonymous.get("/lapor").status_code == 200
    # ... but sending needs a sign-in, and what was typed comes back.
    form = complaint_form(title="Lampu jalan padam")
    response = post_form(anonymous, "/lapor", form)
    assert response.status_code == 401
    assert "perlu masuk" in soup(response).find(id="form-errors").get_text()
    assert form_value(response, "title") == "Lampu jalan padam"
    as_json = post_form(anonymous, "/lapor", form, headers_extra={"accept": "application/json"})
    assert as_json.status_code == 401
    assert as_json.json()["sign_in"].startswith("/masuk")
    assert db(anonymous, lambda: Complaint.count()) == 0


def test_outbox_json_answers(citizen):
    """The offline outbox reads JSON: 201 for a new ticket, 200 for a resend, 400 with reasons.
    It sends the account the item was written under (tests/test_outbox_protocol.py has the rest)."""
    owner = citizen.get("/akun", headers={"accept": "application/json"}).json()["account"]
    as_outbox = {"accept": "application/json"}
    form = complaint_form(owner=owner)
    first = post_form(
        citizen, "/lapor", form, files=photo_files(png_bytes()), headers_extra=as_outbox
    )
    assert first.status_code == 201
    number = first.json()["number"]
    assert first.json()["url"] == f"/laporan/{number}"
    again = post_form(
        citizen, "/lapor", form, files=photo_files(png_bytes()), headers_extra=as_outbox
    )
    assert again.status_code == 200
    assert again.json() == {
        "number": number,
        "url": f"/laporan/{number}",
        "created": False,
        "client_key": form["client_key"],
    }
    bad = post_form(
        citizen, "/lapor", complaint_form(title="x", owner=owner), headers_extra=as_outbox
    )
    assert bad.status_code == 400
    assert "Judul" in bad.json()["errors"]["title"]
    assert db(citizen, lambda: Complaint.count()) == 1
