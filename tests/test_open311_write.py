"""Open311's writing side over HTTP: API keys made by an admin, POST requests (JSON and XML, with
photos through our pipeline), idempotent resends, the spec's error format, what FixMyStreet's
Open311.pm sends, tokens, servicerequestupdates, and the per-key limit across two processes."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from db.tables import ApiKey, AuditLog, Complaint, ComplaintPhoto, TimelineEvent
from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import complaint_form, stored_files
from tests.helpers import at_once, db, post_form, soup
from tests.images import exif_of, jpeg_with_exif_gps, not_an_image
from tests.staff_helpers import make_staff, staff_sign_in
from web.open311.keys import hash_key

BASE = "/open311/v2"
DESCRIPTION = "Lubang besar di tengah jalan dekat sekolah, sudah dua minggu, berbahaya."


def admin_client(make_client):
    client = make_client()
    make_staff(client, "admin")
    staff_sign_in(client, "admin-kota")
    return client


def create_key(admin, **fields) -> str:
    form = {
        "name": "Aplikasi Kota",
        "client_name": "Cilegon Super App",
        "scope": "file",
        "default_privacy": "anonymous",
        "rate_per_minute": "100",
        **fields,
    }
    page = post_form(admin, "/admin/kunci-api", form)
    assert page.status_code == 200, page.text[:300]
    assert page.headers["cache-control"] == "private, no-store"
    return soup(page).select_one("#new-token").get_text(strip=True)


def api_post(client, fmt="json", *, key, files=None, headers=None, **fields):
    data = {
        "api_key": key,
        "service_code": "jalan-rusak",
        "lat": "-6.0021",
        "long": "106.0443",
        "description": DESCRIPTION,
        # jalan-rusak's required question, as services/jalan-rusak lists it.
        "attribute[jenis_kerusakan]": "berlubang",
        **fields,
    }
    return client.post(f"{BASE}/requests.{fmt}", data=data, files=files, headers=headers)


def errors_of(response) -> list[dict]:
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root
        ]
    return response.json()


def test_key_lifecycle_token_shown_once_hashed_revoked_and_scoped(make_client):
    admin = admin_client(make_client)
    assert soup(admin.get("/admin")).select_one("a[href='/admin/kunci-api']")
    token = create_key(admin)
    reader = create_key(admin, name="Dasbor", scope="read")
    # The list shows the keys but never a token again; only the hash is stored.
    listing = admin.get("/admin/kunci-api")
    assert token not in listing.text and reader not in listing.text
    assert soup(listing).select_one("#new-token") is None
    rows = db(admin, lambda: ApiKey.select(ApiKey.key_hash, ApiKey.scopes).order_by(ApiKey.id))
    assert [r["key_hash"] for r in rows] == [hash_key(token), hash_key(reader)]
    assert [r["scopes"] for r in rows] == ["read file", "read"]

    api = make_client()
    read_only = api_post(api, key=reader)
    assert read_only.status_code == 403
    assert "tidak boleh mengirim" in read_only.json()[0]["description"]
    assert api_post(api, key="salah").status_code == 403
    assert api_post(api, key=token).status_code == 201

    key_id = db(admin, lambda: ApiKey.select(ApiKey.id).where(ApiKey.scopes == "read file"))[0]
    revoked = post_form(admin, f"/admin/kunci-api/{key_id['id']}/cabut", {})
    assert revoked.status_code == 200  # back on the list, after the redirect
    refused = api_post(api, "xml", key=token)
    assert refused.status_code == 403
    assert errors_of(refused)[0]["code"] == 403
    actions = db(admin, lambda: AuditLog.select(AuditLog.action).order_by(AuditLog.id))
    names = [a["action"] for a in actions]
    assert names.count("api_key.created") == 2 and names.count("api_key.revoked") == 1
    assert db(admin, lambda: Complaint.count()) == 1


def test_only_admins_reach_the_key_pages(make_client):
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    assert operator.get("/admin/kunci-api").status_code == 403
    assert (
        post_form(operator, "/admin/kunci-api", {"name": "x", "scope": "file"}).status_code == 403
    )
    assert db(operator, lambda: ApiKey.count()) == 0


def test_post_json_with_photo_files_through_our_pipeline(make_client, settings):
    admin = admin_client(make_client)
    token = create_key(admin)
    api = make_client()
    camera = jpeg_with_exif_gps()
    assert exif_of(camera).get("GPSInfo")
    answer = api_post(
        api,
        key=token,
        files=[("media", ("IMG_1.jpg", camera, "image/jpeg"))],
        first_name="Siti",
        last_name="Aminah",
        phone="081211112222",
        **{
            "attribute[lebar_lubang_cm]": "30,5",
            "attribute[kedalaman]": "30 cm",  # no question of ours: ignored
            "account_id": "acc-9",
        },
    )
    assert answer.status_code == 201, answer.text
    [row] = answer.json()
    assert set(row) >= {"service_request_id", "service_notice", "account_id"}
    assert row["account_id"] == "acc-9"
    ticket = db(admin, lambda: Complaint.select().first())
    assert ticket["number"] == row["service_request_id"]
    assert ticket["channel"] == "api"
    assert ticket["privacy"] == "anonymous"  # the key's setting
    assert ticket["reporter_name"] == "Siti Aminah"
    # The answers as asked and answered, in asking order; the unknown code is not kept.
    assert json.loads(ticket["attributes"]) == [
        {
            "code": "jenis_kerusakan",
            "question": "Jenis kerusakan",
            "datatype": "singlevaluelist",
            "value": "berlubang",
            "shown": "Berlubang",
        },
        {
            "code": "lebar_lubang_cm",
            "question": "Perkiraan lebar kerusakan (cm)",
            "datatype": "number",
            "value": "30.5",
            "shown": "30,5",
        },
    ]
    assert ticket["title"].startswith("Lubang besar")
    assert db(admin, lambda: ComplaintPhoto.count()) == 1
    files = stored_files(settings.media_dir)
    assert len(files) == 2  # the photo and its thumbnail, re-encoded without metadata
    assert all(not exif_of(f.read_bytes()) for f in files)
    audit = db(
        admin, lambda: AuditLog.select().where(AuditLog.action == "complaint.created").first()
    )
    assert audit["actor_kind"] == "api_key"
    assert json.loads(audit["detail"])["client"] == "Cilegon Super App"

    # The token we answered resolves to the same ticket.
    resolved = api.get(f"{BASE}/tokens/{row['token']}.json")
    assert resolved.json() == [
        {"service_request_id": row["service_request_id"], "token": row["token"]}
    ]
    assert api.get(f"{BASE}/tokens/00000000-0000-0000-0000-000000000000.json").status_code == 404


def test_the_operator_sees_which_client_filed_a_ticket(make_client):
    admin = admin_client(make_client)
    token = create_key(admin, client_name="FixMyStreet Cilegon")
    api = make_client()
    number = api_post(api, key=token).json()[0]["service_request_id"]
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    row = soup(operator.get("/operator")).select_one(f"tr[data-number='{number}']")
    assert row.select_one("[data-channel=api]").get_text() == "API — FixMyStreet Cilegon"
    detail = soup(operator.get(f"/operator/tiket/{number}"))
    assert detail.select_one(".ticket-number [data-channel]").get_text() == (
        "API — FixMyStreet Cilegon"
    )
    # A ticket from the app names its channel only on its page, as before.
    post_form(operator, "/operator/baru", complaint_form(channel="phone"))
    phoned = db(
        operator, lambda: Complaint.select(Complaint.number).where(Complaint.channel == "phone")
    )
    page = soup(operator.get(f"/operator/tiket/{phoned[0]['number']}"))
    assert page.select_one(".ticket-number [data-channel]").get_text() == "Telepon"
    assert len(soup(operator.get("/operator")).select("[data-channel=api]")) == 1
    # The leaders' report counts the API channel, and under it each client by name.
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    report = soup(admin.get(f"/pimpinan/laporan?tanggal={today}&langsung=1"))
    assert report.select_one('td[data-channel="api"]')["data-value"] == "1"
    client = report.select_one('td[data-api-client="FixMyStreet Cilegon"]')
    assert client["data-value"] == "1"
    assert client.find_previous_sibling("th").get_text() == "API — FixMyStreet Cilegon"


def test_post_xml_and_idempotent_resend_files_once(make_client):
    admin = admin_client(make_client)
    token = create_key(admin)
    api = make_client()
    first = api_post(api, "xml", key=token, headers={"Idempotency-Key": "laporan-77"})
    again = api_post(api, "xml", key=token, headers={"Idempotency-Key": "laporan-77"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.headers["content-type"].startswith("text/xml")
    ids = [ET.fromstring(r.content).findtext("request/service_request_id") for r in (first, again)]
    assert ids[0] and ids[0] == ids[1]
    assert db(admin, lambda: Complaint.count()) == 1
    # Another report without the key files anew.
    assert api_post(api, "xml", key=token).status_code == 201
    assert db(admin, lambda: Complaint.count()) == 2


def test_a_token_cannot_be_worked_out_from_the_key_id_and_idempotency_key(make_client, settings):
    """The token answers tokens/{t} for anyone: it must not follow from what a client knows (its
    key's id, a guessable Idempotency-Key) without the server's secret."""
    from web.open311.filing import client_key_of

    admin = admin_client(make_client)
    token = create_key(admin)
    api = make_client()
    filed = api_post(api, key=token, headers={"Idempotency-Key": "laporan-77"})
    assert filed.status_code == 201
    key_id = db(admin, lambda: ApiKey.select(ApiKey.id).first())["id"]
    given = filed.json()[0]["token"]
    assert given == client_key_of(settings.secret_key, key_id, "laporan-77")
    assert given != client_key_of("another-install-secret", key_id, "laporan-77")
    assert given != client_key_of(settings.secret_key, key_id + 1, "laporan-77")
    # The same client and key still file once.
    again = api_post(api, key=token, headers={"Idempotency-Key": "laporan-77"})
    assert (again.status_code, again.json()[0]["token"]) == (200, given)


def test_bad_input_answers_spec_errors_in_indonesian_and_keeps_nothing(make_client, settings):
    admin = admin_client(make_client)
    token = create_key(admin)
    api = make_client()
    bad = api_post(
        api,
        key=token,
        service_code="tidak-ada",
        description="pendek",
        lat="",
        long="",
        files=[("media", ("IMG_1.jpg", jpeg_with_exif_gps(), "image/jpeg"))],
    )
    assert bad.status_code == 400
    errors = bad.json()
    assert {e["code"] for e in errors} == {400}
    text = " ".join(e["description"] for e in errors)
    assert "description:" in text and "minimal" in text  # our own words, in Indonesian
    assert "kelurahan" in text.lower()
    # A bad photo with otherwise good fields: refused by the pipeline, nothing stored.
    broken = api_post(
        api, "xml", key=token, files=[("media", ("x.jpg", not_an_image(), "image/jpeg"))]
    )
    assert broken.status_code == 400
    assert errors_of(broken)[0]["description"].startswith("media:")
    assert api_post(api, key=token, service_code="jalan\x00rusak").status_code == 400
    nul = api_post(api, key=token, **{"attribute[lebar_lubang_cm]": "30\x00"})
    assert nul.status_code == 400
    assert nul.json()[0]["description"].startswith("attribute[lebar_lubang_cm]:")
    # Answers checked by the category's questions: one line per problem, naming the attribute.
    wrong = api_post(
        api,
        "xml",
        key=token,
        files=[("media", ("IMG_1.jpg", jpeg_with_exif_gps(), "image/jpeg"))],
        **{"attribute[jenis_kerusakan]": "longsor", "attribute[lebar_lubang_cm]": "lebar"},
    )
    assert wrong.status_code == 400
    lines = sorted(e["description"] for e in errors_of(wrong))
    assert lines == [
        "attribute[jenis_kerusakan]: Pilih salah satu jawaban “Jenis kerusakan” dari daftar.",
        "attribute[lebar_lubang_cm]: Jawaban “Perkiraan lebar kerusakan (cm)” harus berupa "
        "angka, misalnya 12 atau 12,5.",
    ]
    missing = api_post(api, key=token, **{"attribute[jenis_kerusakan]": ""})
    assert missing.status_code == 400
    assert missing.json() == [
        {
            "code": 400,
            "description": "attribute[jenis_kerusakan]: Jawab pertanyaan “Jenis kerusakan”.",
        }
    ]
    assert db(admin, lambda: Complaint.count()) == 0
    assert db(admin, lambda: ComplaintPhoto.count()) == 0
    assert stored_files(settings.media_dir) == []


def test_exactly_what_fixmystreet_open311_pm_sends(make_client):
    """Open311.pm: form fields (POST $uri, $params), jurisdiction_id and api_key added by
    _request, names split into first/last, extra fields as attribute[...], media_url (never
    fetched), photos as multipart photo1..N, then XML read back and tokens/{t}.xml polled."""
    admin = admin_client(make_client)
    token = create_key(admin, client_name="FixMyStreet Cilegon")
    api = make_client()
    params = {
        "jurisdiction_id": "cilegon",
        "api_key": token,
        "service_code": "jalan-rusak",
        "description": f"Jalan berlubang\n\n{DESCRIPTION}\n\nhttps://fms.example/report/12\n",
        "first_name": "Budi",
        "last_name": "Santoso",
        "email": "budi@example.org",
        "lat": "-6.0021",
        "long": "106.0443",
        "address_string": "Jl. Ahmad Yani",
        "media_url": "http://127.0.0.1:9/never-fetched.jpg",
        # FixMyStreet's own extras (not questions of ours) beside the answer it read from
        # services/jalan-rusak.
        "attribute[fixmystreet_id]": "12",
        "attribute[title]": "Jalan berlubang",
        "attribute[jenis_kerusakan]": "amblas",
    }
    photos = [
        ("photo1", ("1.jpeg", jpeg_with_exif_gps(), "image/jpeg")),
        ("photo2", ("2.jpeg", jpeg_with_exif_gps(800, 600), "image/jpeg")),
    ]
    answer = api.post(f"{BASE}/requests.xml", data=params, files=photos)
    assert answer.status_code == 201, answer.text
    request = ET.fromstring(answer.content).find("request")
    number = request.findtext("service_request_id")
    ticket = db(admin, lambda: Complaint.select().first())
    assert ticket["number"] == number
    assert ticket["title"] == "Jalan berlubang"
    assert ticket["reporter_contact"] == "budi@example.org"
    [answer] = json.loads(ticket["attributes"])
    assert (answer["code"], answer["value"], answer["shown"]) == (
        "jenis_kerusakan",
        "amblas",
        "Amblas",
    )
    assert db(admin, lambda: ComplaintPhoto.count()) == 2
    # Open311.pm asks tokens/{t} every 2 s, at most 5 times, until an id comes back: ours is
    # there on the first ask (the ticket exists when the POST answers), so it never waits.
    asked = 0
    found = None
    while found is None and asked < 5:
        if asked:
            time.sleep(2)
        asked += 1
        polled = api.get(
            f"{BASE}/tokens/{request.findtext('token')}.xml", params={"jurisdiction_id": "cilegon"}
        )
        assert polled.status_code == 200, polled.text
        found = ET.fromstring(polled.content).findtext("request/service_request_id") or None
    assert (found, asked) == (number, 1)

    # Without photos Open311.pm posts a plain urlencoded form.
    plain = api.post(f"{BASE}/requests.xml", data={**params, "description": DESCRIPTION})
    assert plain.status_code == 201


def test_servicerequestupdates_public_steps_only(make_client):
    admin = admin_client(make_client)
    token = create_key(admin, default_privacy="public")
    reader = create_key(admin, name="FMS baca", scope="read")
    api = make_client()
    number = api_post(api, key=token).json()[0]["service_request_id"]
    ticket_id = db(admin, lambda: Complaint.select(Complaint.id).first())["id"]

    async def steps():
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        await TimelineEvent.insert(
            TimelineEvent(
                complaint=ticket_id,
                kind="verified",
                to_status="verified",
                actor_kind="staff",
                note="Sudah dicek petugas",
                is_public=True,
                created_at=now,
            ),
            TimelineEvent(
                complaint=ticket_id,
                kind="note",
                actor_kind="staff",
                note="RAHASIA internal",
                is_public=False,
                created_at=now,
            ),
        )

    db(admin, steps)
    answer = api.get(
        f"{BASE}/servicerequestupdates.xml",
        params={"api_key": reader, "jurisdiction_id": "cilegon"},
    )
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.content)
    assert root.tag == "service_request_updates"
    updates = [{c.tag: c.text for c in u} for u in root.findall("request_update")]
    assert [u["status"] for u in updates] == ["open", "investigating"]
    assert {u["service_request_id"] for u in updates} == {number}
    assert "RAHASIA" not in answer.text
    assert updates[1]["description"] == "Sudah dicek petugas"
    assert set(updates[0]) >= {"update_id", "updated_datetime", "media_url", "description"}
    as_json = api.get(f"{BASE}/servicerequestupdates.json", params={"api_key": reader})
    assert len(as_json.json()["service_request_updates"]) == 2
    assert api.get(f"{BASE}/servicerequestupdates.json").status_code == 403
    bad = api.get(
        f"{BASE}/servicerequestupdates.json", params={"api_key": reader, "start_date": "kemarin"}
    )
    assert bad.status_code == 400


def _step(ticket_id: int, at, *, note: str = "Sudah dicek petugas", public: bool = True):
    return TimelineEvent(
        complaint=ticket_id,
        kind="verified" if public else "note",
        to_status="verified" if public else None,
        actor_kind="staff",
        note=note,
        is_public=public,
        created_at=at,
    )


def _updates(api, key: str, **params) -> list[dict]:
    answer = api.get(f"{BASE}/servicerequestupdates.json", params={"api_key": key, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["service_request_updates"]


@pytest.mark.clock
def test_servicerequestupdates_window_follows_the_apps_clock(make_client):
    admin = admin_client(make_client)
    token = create_key(admin, default_privacy="public")
    api = make_client()
    api_post(api, key=token)  # its "created" step is now, by the real clock
    ticket_id = db(admin, lambda: Complaint.select(Complaint.id).first())["id"]
    # The app's clock a month ahead: the default window (the last day) is that month's last day.
    ahead = datetime.now(UTC) + timedelta(days=30)
    api.app.state.services.clock = lambda: ahead
    db(admin, lambda: TimelineEvent.insert(_step(ticket_id, ahead - timedelta(hours=1))))
    assert [u["status"] for u in _updates(api, token)] == ["investigating"]
    # A window of explicit dates is the same whatever the clock says.
    around_now = {
        "start_date": (ahead - timedelta(days=31)).isoformat(),
        "end_date": (ahead - timedelta(days=29)).isoformat(),
    }
    assert [u["status"] for u in _updates(api, token, **around_now)] == ["open"]


def test_the_filing_key_reads_the_updates_of_its_confidential_tickets(make_client):
    admin = admin_client(make_client)
    fms = create_key(admin, client_name="FixMyStreet", default_privacy="confidential")
    other = create_key(admin, name="Dasbor", scope="read")
    api = make_client()
    filed = api_post(api, key=fms, first_name="Budi", last_name="Rahasia", phone="081299998888")
    number = filed.json()[0]["service_request_id"]
    ticket = db(admin, lambda: Complaint.select(Complaint.id, Complaint.privacy).first())
    assert ticket["privacy"] == "confidential"
    now = datetime.now(UTC)
    db(
        admin,
        lambda: TimelineEvent.insert(
            _step(ticket["id"], now),
            _step(ticket["id"], now, note="CATATAN INTERNAL", public=False),
        ),
    )
    own = api.get(f"{BASE}/servicerequestupdates.xml", params={"api_key": fms})
    assert own.status_code == 200
    steps = [{c.tag: c.text for c in u} for u in ET.fromstring(own.content)]
    assert [(u["service_request_id"], u["status"]) for u in steps] == [
        (number, "open"),
        (number, "investigating"),
    ]
    # Public steps only, and nothing of the reporter.
    for secret in ("CATATAN INTERNAL", "Budi", "Rahasia", "99998888"):
        assert secret not in own.text
    # Any other key: confidential tickets stay out.
    assert _updates(api, other) == []


def test_servicerequestupdates_pages_honestly_past_the_cap(make_client):
    from web.open311.filing import UPDATES_CAP

    admin = admin_client(make_client)
    token = create_key(admin, default_privacy="public")
    api = make_client()
    api_post(api, key=token)
    ticket_id = db(admin, lambda: Complaint.select(Complaint.id).first())["id"]
    filed_at = db(admin, lambda: TimelineEvent.select(TimelineEvent.created_at).first())
    # More steps than one answer holds, all at one moment: the id must carry the page on.
    moment = filed_at["created_at"] + timedelta(seconds=1)
    db(
        admin,
        lambda: TimelineEvent.insert(
            *[_step(ticket_id, moment, note=f"langkah {n}") for n in range(UPDATES_CAP + 1)]
        ),
    )
    window = {
        "start_date": (moment - timedelta(minutes=5)).isoformat(),
        "end_date": (moment + timedelta(minutes=5)).isoformat(),
    }
    first = api.get(f"{BASE}/servicerequestupdates.json", params={"api_key": token, **window})
    page = first.json()["service_request_updates"]
    assert len(page) == UPDATES_CAP
    assert page[0]["status"] == "open"  # oldest first: the filing itself
    target, rel = first.headers["link"].split(";")
    assert rel.strip() == 'rel="next"'
    following = api.get(target.strip("<> ") + "&api_key=" + token)
    rest = following.json()["service_request_updates"]
    assert "link" not in following.headers
    seen = [u["update_id"] for u in page + rest]
    assert len(seen) == len(set(seen)) == UPDATES_CAP + 2
    assert [u["description"] for u in rest] == [
        f"langkah {UPDATES_CAP - 1}",
        f"langkah {UPDATES_CAP}",
    ]


@pytest.fixture(scope="module")
def two_servers(database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("open311-two-servers")
    started = [start_server(folder, free_port()) for _ in range(2)]
    yield [server for _, server in started]
    for process, _ in started:
        stop_server(process)


def test_key_limit_holds_across_two_processes(two_servers):
    async def make_key():
        from db.tables import StaffUser
        from tests.factories import make_staff_user
        from web.open311.keys import create_key as make

        await make_staff_user("admin-batas")
        admin = await StaffUser.select(StaffUser.id).first()
        return (
            await make(
                {"name": "Terbatas", "scope": "read", "rate_per_minute": "5"}, admin_id=admin["id"]
            )
        )[1]

    token = run_async(make_key)

    def ask(server):
        with httpx.Client(timeout=60) as client:
            return client.get(
                server.url + f"{BASE}/servicerequestupdates.json", params={"api_key": token}
            )

    answers = at_once([lambda s=two_servers[i % 2]: ask(s) for i in range(12)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [429] * 7
    limited = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()[0]["code"] == 429
    # Used once a minute at most: one "used" audit row however many requests came in.
    assert run_async(lambda: AuditLog.count().where(AuditLog.action == "api_key.used")) == 1
