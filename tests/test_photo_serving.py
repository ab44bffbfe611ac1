"""One photo answer for citizens and staff (web/photos/serving.py), and who gets it.

The citizen's route (/laporan/{number}/foto/{id}) and the staff route (/staf/foto/{id}) decide
access each with ``may_see``, the rule of the ticket's own page, then answer alike: same bytes, same
headers, no gzip, the same 404 for "no such photo" and "not yours".
"""

from __future__ import annotations

import pytest

from db.tables import ComplaintPhoto
from tests.factories import complaint_form, dispatch_to_pupr, photo_files, version_of
from tests.helpers import app_routes, db, post_form, register, soup, valid_nik
from tests.images import jpeg_with_exif_gps
from tests.staff_helpers import make_staff, staff_sign_in
from web.photos.serving import PHOTO_ROUTE_OPT

# Every header that shapes how a browser or a proxy keeps, reads or decodes the photo.
ANSWER_HEADERS = (
    "content-type",
    "cache-control",
    "x-content-type-options",
    "content-encoding",
    "content-disposition",
    "etag",
    "last-modified",
    "vary",
)
GZIP = {"Accept-Encoding": "gzip"}


def test_every_photo_route_skips_compression(client):
    photo_routes = [
        (method, path, handler)
        for method, path, handler in app_routes(client.app)
        if "/foto/" in path
    ]
    assert len(photo_routes) == 4  # citizen and staff, full size and thumbnail
    for method, path, handler in photo_routes:
        for key, value in PHOTO_ROUTE_OPT.items():
            assert handler.opt.get(key) == value, (method, path)


def file_ticket(citizen, title: str) -> tuple[str, int]:
    filed = post_form(
        citizen,
        "/lapor",
        complaint_form(title=title),
        files=photo_files(jpeg_with_exif_gps(1600, 1200)),
    )
    number = filed.url.path.rsplit("/", 1)[1]
    photo = db(
        citizen,
        lambda: (
            ComplaintPhoto.select(ComplaintPhoto.id)
            .where(ComplaintPhoto.complaint.number == number)
            .first()
        ),
    )
    return number, photo["id"]


def staff(make_client, role: str, opd_slug: str | None = None):
    client = make_client()
    make_staff(client, role, opd_slug=opd_slug)
    staff_sign_in(client, f"{role}-{opd_slug or 'kota'}")
    return client


@pytest.fixture
def photos(make_client):
    """A citizen's ticket dispatched to Dinas PUPR, with its report photo and a proof photo the
    PUPR officer sent with a follow-up; plus a second ticket of the same citizen, not dispatched."""
    citizen = make_client()
    register(citizen)
    number, report_photo = file_ticket(citizen, "Jalan berlubang dekat sekolah")
    other_number, other_photo = file_ticket(citizen, "Lampu jalan mati total")
    dispatch_to_pupr(citizen, number)

    officer = staff(make_client, "opd_staff", "pupr")
    url = f"/opd/tiket/{number}/aksi"
    started = post_form(officer, url, {"action": "start", "version": version_of(citizen, number)})
    assert started.status_code == 200, started.text[:300]
    followed = post_form(
        officer,
        url,
        {
            "action": "follow_up",
            "version": version_of(citizen, number),
            "note": "Lubang sudah ditambal sementara.",
        },
        files=photo_files(jpeg_with_exif_gps(1600, 1200)),
    )
    assert followed.status_code == 200, followed.text[:300]
    proof_photo = db(
        citizen,
        lambda: (
            ComplaintPhoto.select(ComplaintPhoto.id)
            .where((ComplaintPhoto.complaint.number == number) & (ComplaintPhoto.kind == "proof"))
            .first()
        ),
    )["id"]
    return {
        "citizen": citizen,
        "officer": officer,
        "number": number,
        "report": report_photo,
        "proof": proof_photo,
        "other_number": other_number,
        "other_photo": other_photo,
    }


def test_citizen_and_staff_get_the_same_answer_for_the_same_photo(make_client, photos):
    citizen, number = photos["citizen"], photos["number"]
    operator = staff(make_client, "operator")
    # The citizen's page links both photos through the citizen's route.
    page = soup(citizen.get(f"/laporan/{number}"))
    linked = {a["href"] for a in page.select(".photo-grid a")}
    for kind in ("report", "proof"):
        assert f"/laporan/{number}/foto/{photos[kind]}" in linked, kind

    for kind in ("report", "proof"):
        photo = photos[kind]
        for suffix in ("", "/kecil"):
            answers = {
                "citizen": citizen.get(f"/laporan/{number}/foto/{photo}{suffix}", headers=GZIP),
                "operator": operator.get(f"/staf/foto/{photo}{suffix}", headers=GZIP),
                "opd staff": photos["officer"].get(f"/staf/foto/{photo}{suffix}", headers=GZIP),
            }
            reference = answers["citizen"]
            # Large enough that the app's gzip would have taken it, had the route allowed it.
            assert len(reference.content) > 1000, (kind, suffix)
            for who, response in answers.items():
                where = (kind, suffix, who)
                assert response.status_code == 200, where
                assert response.content == reference.content, where
                assert response.headers["content-type"] == "image/jpeg", where
                assert response.headers["cache-control"] == "private, no-store", where
                assert response.headers["x-content-type-options"] == "nosniff", where
                # A JPEG does not shrink under gzip: neither route compresses it.
                assert "content-encoding" not in response.headers, where
                assert {h: response.headers.get(h) for h in ANSWER_HEADERS} == {
                    h: reference.headers.get(h) for h in ANSWER_HEADERS
                }, where


def test_a_citizen_sees_only_photos_of_their_own_tickets(make_client, photos):
    number = photos["number"]
    stranger = make_client()
    register(stranger, nik=valid_nik(42), phone="081299990000", name="Orang Lain")
    for kind in ("report", "proof"):
        for suffix in ("", "/kecil"):
            url = f"/laporan/{number}/foto/{photos[kind]}{suffix}"
            assert stranger.get(url).status_code == 404, url
            assert photos["citizen"].get(url).status_code == 200, url
    # One's own photo named under one's other ticket is not found either.
    mixed = f"/laporan/{photos['other_number']}/foto/{photos['report']}"
    assert photos["citizen"].get(mixed).status_code == 404
    # Signed out: the sign-in page, not the photo.
    anonymous = make_client()
    signed_out = anonymous.get(f"/laporan/{number}/foto/{photos['report']}", follow_redirects=False)
    assert signed_out.status_code in (302, 303)
    assert not signed_out.headers.get("content-type", "").startswith("image/")


def test_staff_see_photos_of_the_tickets_they_may_see(make_client, photos):
    number_photos = (photos["report"], photos["proof"])
    readers = {role: staff(make_client, role) for role in ("operator", "supervisor", "admin")}
    other_opd = staff(make_client, "opd_staff", "dlh")
    for photo in number_photos:
        for suffix in ("", "/kecil"):
            url = f"/staf/foto/{photo}{suffix}"
            for role, client in readers.items():
                assert client.get(url).status_code == 200, (role, url)
            assert photos["officer"].get(url).status_code == 200, url
            assert other_opd.get(url).status_code == 404, url
    # The ticket that was never dispatched belongs to no OPD yet: its photo is the operators' only.
    undispatched = f"/staf/foto/{photos['other_photo']}"
    assert photos["officer"].get(undispatched).status_code == 404
    assert readers["operator"].get(undispatched).status_code == 200
    # A citizen is no staff member, even for their own photo: off to the staff sign-in.
    refused = photos["citizen"].get(f"/staf/foto/{photos['report']}", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/staf/masuk")


def test_a_missing_photo_is_the_same_404_on_both_routes(make_client, photos):
    citizen, number, photo = photos["citizen"], photos["number"], photos["report"]
    operator = staff(make_client, "operator")
    keys = db(
        citizen,
        lambda: (
            ComplaintPhoto.select(ComplaintPhoto.storage_key, ComplaintPhoto.thumb_key)
            .where(ComplaintPhoto.id == photo)
            .first()
        ),
    )
    storage = citizen.app.state.services.storage
    db(citizen, lambda: storage.delete(keys["storage_key"]))
    gone = {
        "citizen": citizen.get(f"/laporan/{number}/foto/{photo}"),
        "staff": operator.get(f"/staf/foto/{photo}"),
    }
    unknown = {
        "citizen": citizen.get(f"/laporan/{number}/foto/999999"),
        "staff": operator.get("/staf/foto/999999"),
    }
    for who in ("citizen", "staff"):
        for answer in (gone[who], unknown[who]):
            assert answer.status_code == 404, who
            assert "Foto tidak ditemukan" in soup(answer).get_text(), who
    # The thumbnail is still there and still served.
    assert citizen.get(f"/laporan/{number}/foto/{photo}/kecil").status_code == 200
    assert operator.get(f"/staf/foto/{photo}/kecil").status_code == 200


def test_a_photo_comes_only_with_a_follow_up_or_a_resolution(photos, settings):
    """An internal note is never shown to the citizen, so a photo sent with one (a hand-made
    request: the page offers photos only with a follow-up) is refused, and nothing is kept."""
    officer, number = photos["officer"], photos["number"]
    count_rows = lambda: db(officer, lambda: ComplaintPhoto.count())  # noqa: E731
    files_before = sorted(p for p in settings.media_dir.rglob("*") if p.is_file())
    rows_before = count_rows()
    answer = post_form(
        officer,
        f"/opd/tiket/{number}/aksi",
        {"action": "add_note", "version": version_of(officer, number), "note": "Catatan dalam."},
        files=photo_files(jpeg_with_exif_gps(1600, 1200)),
    )
    assert "Foto hanya bisa dilampirkan pada tindak lanjut" in answer.text
    assert count_rows() == rows_before
    assert sorted(p for p in settings.media_dir.rglob("*") if p.is_file()) == files_before
