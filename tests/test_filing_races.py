"""Filing races over real HTTP: the same report sent at the same moment to TWO server processes on
the test database (a city's two web workers), as an app retrying, or two operators at work, do.

Each test checks what the user sees (one ticket; every answer names it or says why not, in
Indonesian, with what was typed kept) and what is left behind: no second ticket, no stray rows,
no photo files without their row.
"""

from __future__ import annotations

import httpx
import pytest

from db.tables import AuditLog, Complaint, ComplaintPhoto, StaffUser, TimelineEvent
from tests.browser import free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import complaint_form, make_staff_user
from tests.helpers import at_once, soup
from tests.images import jpeg_with_exif_gps
from tests.staff_helpers import PASSWORD

BASE = "/open311/v2"
DESCRIPTION = "Lubang besar di tengah jalan dekat sekolah, sudah dua minggu, berbahaya."


@pytest.fixture(scope="module")
def two_servers(database, tmp_path_factory):
    # One media folder for both, as one shared storage bucket would be.
    folder = tmp_path_factory.mktemp("filing-races")
    started = [start_server(folder, free_port()) for _ in range(2)]
    yield [server for _, server in started]
    for process, _ in started:
        stop_server(process)


def count(query) -> int:
    return run_async(lambda: query)


def signed_in_operator(server, username: str) -> httpx.Client:
    run_async(lambda: make_staff_user(username))
    client = httpx.Client(base_url=server.url, timeout=60)
    client.get("/staf/masuk")
    answer = client.post(
        "/staf/masuk",
        data={"username": username, "password": PASSWORD},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert answer.status_code == 303, answer.text[:300]
    return client


def post_form(client: httpx.Client, url: str, data: dict) -> httpx.Response:
    return client.post(url, data=data, headers={"x-csrftoken": client.cookies["csrftoken"]})


def test_one_idempotency_key_sent_at_once_to_two_processes_files_once(two_servers):
    async def make_key():
        from web.open311.keys import create_key

        await make_staff_user("admin-kunci")
        admin = await StaffUser.select(StaffUser.id).first()
        values = {"name": "Aplikasi Kota", "scope": "file", "rate_per_minute": "100"}
        return (await create_key(values, admin_id=admin["id"]))[1]

    token = run_async(make_key)
    photo = jpeg_with_exif_gps()

    def send(server):
        with httpx.Client(timeout=60) as client:
            return client.post(
                server.url + f"{BASE}/requests.json",
                data={
                    "api_key": token,
                    "service_code": "jalan-rusak",
                    "lat": "-6.0021",
                    "long": "106.0443",
                    "description": DESCRIPTION,
                    "attribute[jenis_kerusakan]": "berlubang",
                },
                files=[("media", ("IMG_1.jpg", photo, "image/jpeg"))],
                headers={"Idempotency-Key": "aplikasi-laporan-1"},
            )

    answers = at_once([lambda s=two_servers[i % 2]: send(s) for i in range(4)])
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201], [
        a.text[:200] for a in answers
    ]
    named = {(a.json()[0]["service_request_id"], a.json()[0]["token"]) for a in answers}
    assert len(named) == 1
    [(number, client_key)] = named
    tickets = run_async(lambda: Complaint.select(Complaint.number, Complaint.id))
    assert [t["number"] for t in tickets] == [number]
    assert count(AuditLog.count().where(AuditLog.action == "complaint.created")) == 1
    assert count(TimelineEvent.count()) == 1
    # The winner's photo and thumbnail, and no file of the three that lost.
    rows = run_async(
        lambda: ComplaintPhoto.select(ComplaintPhoto.storage_key, ComplaintPhoto.thumb_key)
    )
    assert len(rows) == 1
    media = two_servers[0].media_dir
    files = sorted(
        str(p.relative_to(media))
        for p in (media / "complaints" / client_key).rglob("*")
        if p.is_file()
    )
    assert files == sorted([rows[0]["storage_key"], rows[0]["thumb_key"]])


def test_one_lapor_id_filed_at_once_by_operators_on_two_processes_makes_one_ticket(two_servers):
    operators = [signed_in_operator(two_servers[i % 2], f"operator-lapor-{i}") for i in range(4)]

    def intake(i: int):
        form = complaint_form(
            channel="lapor", lapor_id="LAP-2026-424242", title=f"Jalan rusak laporan {i}"
        )
        return post_form(operators[i], "/operator/baru", form)

    answers = at_once([lambda i=i: intake(i) for i in range(4)])
    assert sorted(a.status_code for a in answers) == [303, 400, 400, 400], [
        a.status_code for a in answers
    ]
    tickets = run_async(lambda: Complaint.select(Complaint.number, Complaint.lapor_id))
    assert [t["lapor_id"] for t in tickets] == ["LAP-2026-424242"]
    number = tickets[0]["number"]
    assert next(a for a in answers if a.status_code == 303).headers["location"] == (
        f"/operator/tiket/{number}"
    )
    for i, answer in enumerate(answers):
        if answer.status_code != 400:
            continue
        page = soup(answer)
        message = page.find(id="lapor_id-error").get_text()
        assert "LAP-2026-424242" in message and number in message
        assert page.find(attrs={"name": "title"})["value"] == f"Jalan rusak laporan {i}"
        assert page.find(attrs={"name": "lapor_id"})["value"] == "LAP-2026-424242"
    assert count(AuditLog.count().where(AuditLog.action == "complaint.created")) == 1
    assert count(TimelineEvent.count()) == 1


def _paste(ids: list[str]) -> str:
    return "".join(
        f"{lapor_id}\t2026-11-28\tJalan berlubang nomor {n}\tLubang besar di tengah jalan, "
        f"sudah dua minggu dan berbahaya.\tJalan rusak\tJl. Raya, Kelurahan Cibeber\n"
        for n, lapor_id in enumerate(ids)
    )


def test_two_imports_at_once_overlapping_in_one_id_one_saves_the_other_nothing(two_servers):
    first = signed_in_operator(two_servers[0], "operator-impor-1")
    second = signed_in_operator(two_servers[1], "operator-impor-2")
    # Long batches, the shared ID last: each checks its IDs while the other is still saving.
    batches = [
        [f"LAP-2026-1{n:02d}" for n in range(8)] + ["LAP-2026-999"],
        [f"LAP-2026-2{n:02d}" for n in range(8)] + ["LAP-2026-999"],
    ]
    answers = at_once(
        [
            lambda: post_form(first, "/operator/lapor/impor", {"reports": _paste(batches[0])}),
            lambda: post_form(second, "/operator/lapor/impor", {"reports": _paste(batches[1])}),
        ]
    )
    assert sorted(a.status_code for a in answers) == [200, 400]
    won = 0 if answers[0].status_code == 200 else 1
    lost = 1 - won
    saved = run_async(lambda: Complaint.select(Complaint.lapor_id, Complaint.number))
    assert sorted(t["lapor_id"] for t in saved) == sorted(batches[won])
    owner = next(t["number"] for t in saved if t["lapor_id"] == "LAP-2026-999")
    refused = soup(answers[lost])
    errors = refused.find(id="import-errors").get_text()
    assert "LAP-2026-999" in errors and owner in errors
    assert batches[lost][0] in refused.find(id="reports").get_text()  # the paste is kept
    imported = run_async(
        lambda: AuditLog.select(AuditLog.action).where(AuditLog.action == "lapor.imported")
    )
    assert len(imported) == 1
    assert count(TimelineEvent.count()) == len(batches[won])
    created = count(AuditLog.count().where(AuditLog.action == "complaint.created"))
    assert created == len(batches[won])
