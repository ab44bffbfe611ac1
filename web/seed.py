"""Load a city's data file into the reference tables, and create demo accounts.

Idempotent: running it again updates names and SLA hours in place and never duplicates rows.
A category's questions come from the file only when the category is new: after that they are
the admin page's (web/admin), and a deploy must not undo what an admin wrote there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from db.city_data import City, questions_from_json
from db.engine import write_transaction
from db.tables import Category, Citizen, CityInfo, Kecamatan, Kelurahan, Opd, StaffUser

log = logging.getLogger(__name__)


class SeedError(RuntimeError):
    pass


async def seed_city(city: City) -> None:
    async with write_transaction():
        existing = await CityInfo.select(CityInfo.slug).first()
        if existing and existing["slug"] != city.slug:
            raise SeedError(
                f"this database already serves {existing['slug']!r}; refusing to load {city.slug!r} on top"
            )
        if not existing:
            await CityInfo.insert(CityInfo(slug=city.slug, name=city.name, code=city.code))

        opd_ids: dict[str, int] = {}
        for opd in city.opds:
            opd_ids[opd.slug] = await _upsert(
                Opd, Opd.slug, opd.slug, name=opd.name, short_name=opd.short_name, kind=opd.kind
            )
        for kecamatan in city.kecamatan:
            kecamatan_id = await _upsert(
                Kecamatan, Kecamatan.code, kecamatan.code, name=kecamatan.name
            )
            for kelurahan in kecamatan.kelurahan:
                await _upsert(
                    Kelurahan,
                    Kelurahan.code,
                    kelurahan.code,
                    name=kelurahan.name,
                    kecamatan=kecamatan_id,
                    latitude=kelurahan.lat,
                    longitude=kelurahan.lng,
                )
        for position, category in enumerate(city.categories):
            category_id = await _upsert(
                Category,
                Category.slug,
                category.slug,
                name=category.name,
                name_en=category.name_en,
                default_opd=opd_ids[category.default_opd],
                sla_hours=category.sla_hours,
                position=position,
                on_insert={
                    "questions": json.dumps(
                        [q.as_dict() for q in category.questions], ensure_ascii=False
                    )
                },
            )
            await _warn_if_questions_differ(category_id, category.slug, category.questions)


async def _warn_if_questions_differ(category_id: int, slug: str, in_file: tuple) -> None:
    """Say so when the file's questions are not the ones in use: whoever edits the file expects to
    see them, and only the admin page changes an existing category's questions."""
    row = await Category.select(Category.questions).where(Category.id == category_id).first()
    stored = questions_from_json(row["questions"] if row else None)
    if [q.as_dict() for q in stored] != [
        q.as_dict() for q in sorted(in_file, key=lambda q: q.order)
    ]:
        log.warning(
            "category %r: its questions in the city file differ from the database's; the "
            "database's stay (change them on the admin page, /admin/kategori/%s/pertanyaan)",
            slug,
            category_id,
        )


async def _upsert(table, key_column, key_value, *, on_insert: dict | None = None, **values) -> int:
    """``values`` are written every time; ``on_insert`` only into a new row."""
    row = await table.select(table.id).where(key_column == key_value).first()
    if row:
        await table.update({getattr(table, k): v for k, v in values.items()}).where(
            table.id == row["id"]
        )
        return row["id"]
    created = await table.insert(
        table(**{key_column._meta.name: key_value}, **values, **(on_insert or {}))
    ).returning(table.id)
    return created[0]["id"]


@dataclass(frozen=True)
class DemoAccounts:
    staff: list[tuple[str, str, str, str]]  # (role, username, password, description)
    citizen_nik: str
    citizen_phone: str
    citizen_name: str


DEMO_PASSWORD = "aduan-demo-2026"


def demo_nik(city: City) -> str:
    """A structurally valid NIK in the city's first kecamatan (woman born 15 May 1990, serial 1)."""
    kecamatan_part = city.kecamatan[0].code.split(".")[-1]
    return f"{city.nik_prefix}{kecamatan_part}5505900001"


async def seed_demo_accounts(city: City, *, nik_hash_key: str) -> DemoAccounts:
    from web.citizen.nik import hash_nik, mask_nik
    from web.staff.auth import hash_password

    first_category_opd = city.categories[0].default_opd
    opd_row = await Opd.select(Opd.id, Opd.short_name).where(Opd.slug == first_category_opd).first()
    if opd_row is None:
        raise SeedError(f"OPD {first_category_opd!r} is not loaded: run seed_city first")
    staff = [
        ("operator", "operator", None, "Operator command center"),
        ("opd_staff", f"opd-{first_category_opd}", opd_row["id"], f"Staf {opd_row['short_name']}"),
        ("supervisor", "pimpinan", None, "Pimpinan (Kepala Diskominfo / Wali Kota)"),
        ("admin", "admin", None, "Administrator"),
    ]
    async with write_transaction():
        for role, username, opd_id, description in staff:
            exists = await StaffUser.exists().where(StaffUser.username == username)
            if not exists:
                await StaffUser.insert(
                    StaffUser(
                        username=username,
                        name=description,
                        role=role,
                        opd=opd_id,
                        password_hash=hash_password(DEMO_PASSWORD),
                    )
                )
        nik = demo_nik(city)
        phone = "+6281200000001"
        name = "Warga Demo"
        if not await Citizen.exists().where(Citizen.phone == phone):
            await Citizen.insert(
                Citizen(
                    nik_hash=hash_nik(nik, nik_hash_key),
                    nik_masked=mask_nik(nik),
                    phone=phone,
                    name=name,
                )
            )
    return DemoAccounts(
        staff=[(role, username, DEMO_PASSWORD, desc) for role, username, _, desc in staff],
        citizen_nik=nik,
        citizen_phone=phone,
        citizen_name=name,
    )
