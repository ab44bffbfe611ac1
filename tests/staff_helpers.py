"""Staff accounts for tests, made the way an admin would, and signed in through the real form."""

from __future__ import annotations

from db.tables import Opd, StaffUser
from tests.helpers import db, post_form
from web.staff.auth import hash_password

PASSWORD = "kata-sandi-uji-123"


def make_staff(
    client, role: str, *, username: str | None = None, opd_slug: str | None = None
) -> dict:
    username = username or f"{role}-{opd_slug or 'kota'}"

    async def create():
        opd_id = None
        if opd_slug:
            opd_id = (await Opd.select(Opd.id).where(Opd.slug == opd_slug).first())["id"]
        rows = await StaffUser.insert(
            StaffUser(
                username=username,
                name=f"{role.title()} {opd_slug or ''}".strip(),
                role=role,
                opd=opd_id,
                password_hash=hash_password(PASSWORD),
            )
        ).returning(StaffUser.id)
        return {"id": rows[0]["id"], "username": username, "opd_id": opd_id, "role": role}

    return db(client, create)


def staff_sign_in(client, username: str):
    response = post_form(client, "/staf/masuk", {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text[:300]
    return response


def signed_in_operator(make_client, role="operator"):
    client = make_client()
    make_staff(client, role)
    staff_sign_in(client, f"{role}-kota")
    return client
