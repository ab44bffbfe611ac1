"""Builders the test modules share: a complaint form, photo uploads, staff rows, a dispatched
ticket, push subscriptions, a "world" of people with phones. Test modules import from here (or
from helpers.py, staff_helpers.py, browser.py), never from each other.

The fixtures here (``dispatched_ticket``, ``world``) are registered in conftest.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from db.tables import Citizen, Complaint, ComplaintPhoto, Notification, Opd, PushSubscription
from tests.helpers import (
    DEMO_PHONE_E164,
    DEMO_PHONE_LOCAL,
    csrf,
    db,
    last_code,
    post_form,
    register,
)
from tests.images import png_bytes
from tests.staff_helpers import PASSWORD, make_staff
from web.staff.auth import hash_password
from web.workflow.service import Actor, act

# --- Complaints ----------------------------------------------------------------------------------

CENTRE = {"latitude": "-6.0021", "longitude": "106.0443", "accuracy": "12"}
HTMX = {"HX-Request": "true"}


def complaint_form(**overrides) -> dict:
    form = {
        "client_key": str(uuid.uuid4()),
        "classification": "complaint",
        "category": "jalan-rusak",
        "title": "Jalan berlubang dekat sekolah",
        "description": "Lubang besar di tengah jalan, sudah dua minggu, berbahaya untuk motor.",
        "address": "Jl. Ahmad Yani depan SD",
        "kelurahan": "",
        "privacy": "public",
        # The required question of jalan-rusak (db/cities/cilegon.toml), as the form names it.
        "jawaban-jalan-rusak-jenis_kerusakan": "berlubang",
        # What the form says it showed for jalan-rusak, as the page renders it (shown_marker).
        "pertanyaan-jalan-rusak": "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:number",
        **CENTRE,
    }
    form.update(overrides)
    return form


def photo_files(*payloads: bytes):
    return [
        ("photos", (f"IMG_{i}.jpg", data, "image/jpeg")) for i, data in enumerate(payloads, start=1)
    ]


def stored_files(media_dir: Path) -> list[Path]:
    return sorted(p for p in media_dir.rglob("*") if p.is_file()) if media_dir.exists() else []


def file_ticket(citizen, **fields) -> str:
    response = post_form(citizen, "/lapor", complaint_form(**fields))
    assert response.status_code == 200, response.text[:300]
    return response.url.path.rsplit("/", 1)[1]


def dispatch_to_pupr(client, number: str) -> None:
    """Verify a freshly filed ticket and dispatch it to Dinas PUPR, as the system would."""

    async def dispatch():
        pupr = (await Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
        operator = Actor(kind="system", id=None, role="operator")
        await act(number, "verify", operator, expected_version=1)
        await act(number, "dispatch", operator, expected_version=2, opd_id=pupr)

    db(client, dispatch)


@pytest.fixture
def dispatched_ticket(make_client):
    """A ticket with a photo, dispatched to Dinas PUPR (the category's default OPD)."""
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", complaint_form(), files=photo_files(png_bytes()))
    number = filed.url.path.rsplit("/", 1)[1]
    dispatch_to_pupr(citizen, number)
    photo_id = db(citizen, lambda: ComplaintPhoto.select(ComplaintPhoto.id).first())["id"]
    return {"number": number, "photo_id": photo_id, "citizen": citizen}


def version_of(client, number):
    return str(
        db(
            client,
            lambda: Complaint.select(Complaint.version).where(Complaint.number == number).first(),
        )["version"]
    )


def operator_act(client, number, action, **fields):
    data = {"action": action, "version": version_of(client, number), **fields}
    return post_form(
        client,
        f"/operator/tiket/{number}/aksi",
        data,
        headers_extra={**HTMX, "HX-Target": "detail"},
    )


# --- People --------------------------------------------------------------------------------------


def citizen_sign_in(client) -> None:
    assert post_form(client, "/masuk", {"phone": DEMO_PHONE_LOCAL}).url.path == "/masuk/kode"
    code = last_code(client, DEMO_PHONE_E164)
    done = post_form(client, "/masuk/kode", {"code": code, "action": "verify"})
    assert done.url.path == "/laporan", done.text[:300]


def make_staff_user(username: str):
    """An operator row (a query to await), for tests that sign in against server processes."""
    from db.tables import StaffUser

    return StaffUser.insert(
        StaffUser(
            username=username,
            name="Wali Kota",
            role="operator",
            password_hash=hash_password(PASSWORD),
        )
    )


# --- Push subscriptions and notifications ----------------------------------------------------

CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def post_json(client, url, data, *, user_agent=CHROME_ANDROID, token=True):
    headers = {"Accept": "application/json", "User-Agent": user_agent}
    if token:
        headers["x-csrftoken"] = csrf(client)
    return client.post(url, json=data, headers=headers)


def subscriptions(client):
    return db(client, lambda: PushSubscription.select().order_by(PushSubscription.id))


def add_subscription(client, keys, *, citizen=None, staff=None) -> int:
    async def insert():
        rows = await PushSubscription.insert(
            PushSubscription(
                endpoint=keys.endpoint,
                p256dh=keys.p256dh,
                auth=keys.auth,
                citizen=citizen,
                staff=staff,
                device="Chrome · Android",
                created_at=datetime.now(UTC),
            )
        ).returning(PushSubscription.id)
        return rows[0]["id"]

    return db(client, insert)


async def staff_with_device(role: str, opd_id: int | None, *, now: datetime) -> int:
    """A staff row with one push subscription, inserted directly (for the jobs' tests)."""
    from db.tables import StaffUser

    rows = await StaffUser.insert(
        StaffUser(
            username=f"{role}-{uuid.uuid4().hex[:6]}",
            name=role,
            role=role,
            opd=opd_id,
            password_hash="x",
            created_at=now,
        )
    ).returning(StaffUser.id)
    await PushSubscription.insert(
        PushSubscription(
            endpoint=f"https://push.example/{uuid.uuid4().hex}",
            p256dh="x",
            auth="y",
            staff=rows[0]["id"],
            created_at=now,
        )
    )
    return rows[0]["id"]


async def notification_kinds_for(staff_id: int) -> list[str]:
    rows = await Notification.select(Notification.kind).where(Notification.staff == staff_id)
    return sorted(row["kind"] for row in rows)


@pytest.fixture
def world(make_client, push_service):
    """A citizen, two operators, OPD staff of PUPR and of DLH, a supervisor: each with one phone
    subscribed to the fake push service."""
    citizen = make_client()
    register(citizen, name="Rahmat Hidayat")
    staff = {
        "operator": make_staff(citizen, "operator"),
        "operator2": make_staff(citizen, "operator", username="operator-dua"),
        "pupr": make_staff(citizen, "opd_staff", opd_slug="pupr"),
        "dlh": make_staff(citizen, "opd_staff", opd_slug="dlh"),
        "supervisor": make_staff(citizen, "supervisor"),
    }
    citizen_id = db(citizen, lambda: Citizen.select(Citizen.id).first())["id"]
    keys = {"citizen": push_service.subscription("citizen")}
    names = {add_subscription(citizen, keys["citizen"], citizen=citizen_id): "citizen"}
    for name, member in staff.items():
        keys[name] = push_service.subscription(name)
        names[add_subscription(citizen, keys[name], staff=member["id"])] = name
    return SimpleNamespace(
        client=citizen,
        citizen_id=citizen_id,
        staff=staff,
        keys=keys,
        names=names,
        push=push_service,
        pupr=db(citizen, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"],
    )


def staff_actor(world, name) -> Actor:
    member = world.staff[name]
    return Actor(kind="staff", id=member["id"], role=member["role"], opd_id=member["opd_id"])


def do(world, number, action, actor, **inputs):
    async def run():
        version = (
            await Complaint.select(Complaint.version).where(Complaint.number == number).first()
        )["version"]
        return await act(number, action, actor, expected_version=version, **inputs)

    return db(world.client, run)


def deliver(world, settings, messenger=None, *, now=None, **overrides):
    import dataclasses

    from web.messaging.messenger import DevMessenger
    from web.notifications.delivery import deliver_due

    settings = dataclasses.replace(settings, **overrides)
    return db(world.client, lambda: deliver_due(settings, messenger or DevMessenger(), now=now))


def only_the_citizens_verify(world):
    number = file_ticket(world.client)
    do(world, number, "verify", staff_actor(world, "operator"))
    db(world.client, lambda: Notification.delete().where(Notification.kind == "created"))
    return number


def notification(world):
    return db(
        world.client, lambda: Notification.select().where(Notification.kind == "verify").first()
    )
