"""Load a city's data file into the reference tables, and create demo accounts.

Idempotent: running it again updates names in place and never duplicates rows. What an admin can
edit on a category (SLA hours, default OPD, active, questions: web/admin) comes from the file only
when the category is new: after that it is the admin page's, and a restart or a deploy must not
undo an admin's change. The seed says so in the log when the file differs; ``overwrite`` (the
``seed --overwrite-categories`` command, web/manage.py) is the one way to make the file win.
OPDs, kecamatan and kelurahan have nothing an admin edits, so the file keeps them in step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from db.city_data import City, Question, questions_from_json
from db.engine import write_transaction
from db.tables import Category, Citizen, CityInfo, Kecamatan, Kelurahan, Opd, StaffUser
from web import audit

log = logging.getLogger(__name__)


class SeedError(RuntimeError):
    pass


async def seed_city(city: City, *, overwrite: Collection[str] = ()) -> list[str]:
    """Load ``city`` into the reference tables. ``overwrite``: slugs of categories whose
    admin-owned settings the file replaces. Returns the slugs whose settings it did replace."""
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
        unknown = set(overwrite) - {category.slug for category in city.categories}
        if unknown:
            raise SeedError(
                f"no category {', '.join(sorted(map(repr, unknown)))} in the city file to overwrite from"
            )
        opd_slugs = {row["id"]: row["slug"] for row in await Opd.select(Opd.id, Opd.slug)}
        overwritten = []
        for position, category in enumerate(city.categories):
            from_file: dict[str, Any] = {
                "sla_hours": category.sla_hours,
                "default_opd": opd_ids[category.default_opd],
                "questions": _questions_json(category.questions),
            }
            row = await Category.select(*_ADMIN_OWNED).where(Category.slug == category.slug).first()
            if row is None:  # new: the file's settings are its first ones
                await Category.insert(
                    Category(
                        slug=category.slug,
                        name=category.name,
                        name_en=category.name_en,
                        position=position,
                        **from_file,
                    )
                )
                continue
            await Category.update(
                {
                    Category.name: category.name,
                    Category.name_en: category.name_en,
                    Category.position: position,
                }
            ).where(Category.id == row["id"])
            differs = _differs(row, from_file)
            if not differs:
                continue
            if category.slug in overwrite:
                await _overwrite(category.slug, row, from_file, differs)
                overwritten.append(category.slug)
            else:
                _warn_kept(category.slug, row, from_file, differs, opd_slugs)
    return overwritten


# What an admin edits on /admin/kategori (besides ``active``, which the file does not set).
_ADMIN_OWNED = (Category.id, Category.sla_hours, Category.default_opd, Category.questions)


def _questions_json(questions: tuple[Question, ...]) -> str:
    return json.dumps(
        [q.as_dict() for q in sorted(questions, key=lambda q: q.order)], ensure_ascii=False
    )


def _differs(row: dict, from_file: dict) -> list[str]:
    """The admin-owned settings whose stored value is not the file's, by name."""
    differs = [name for name in ("sla_hours", "default_opd") if row[name] != from_file[name]]
    # Compared as questions, not as text: the same questions may be stored in another key order.
    if [q.as_dict() for q in questions_from_json(row["questions"])] != json.loads(
        from_file["questions"]
    ):
        differs.append("questions")
    return differs


def _shown(name: str, value: object, opd_slugs: dict[int, str]) -> str:
    """A setting as a person reads it in the log: an OPD by its slug."""
    if name == "default_opd" and isinstance(value, int):
        return repr(opd_slugs.get(value, value))
    return repr(value)


def _warn_kept(
    slug: str, row: dict, from_file: dict, differs: list[str], opd_slugs: dict[int, str]
) -> None:
    """Whoever edits the file expects to see their change: say why it does not show."""
    if "questions" in differs:  # the admin page's own words, for the questions
        log.warning(
            "category %r: its questions in the city file differ from the database's; the "
            "database's stay (change them on the admin page, /admin/kategori/%s/pertanyaan)",
            slug,
            row["id"],
        )
    settings = [name for name in differs if name != "questions"]
    if settings:
        log.warning(
            "category %r: the city file's %s differ from the database's (%s); the database's "
            "stay: an admin set them on /admin/kategori. `python -m web.manage seed "
            "--overwrite-categories %s` applies the file's",
            slug,
            ", ".join(f"{name} {_shown(name, from_file[name], opd_slugs)}" for name in settings),
            ", ".join(f"{name} {_shown(name, row[name], opd_slugs)}" for name in settings),
            slug,
        )


def _raw(name: str, value: object) -> object:
    """A setting as the audit trail keeps it: whole, so an admin can put it back."""
    return json.loads(str(value)) if name == "questions" else value


async def _overwrite(slug: str, row: dict, from_file: dict, differs: list[str]) -> None:
    """The file wins, when asked to: its settings replace the admin's, and the audit trail says
    what the admin had (an admin's decision undone must be traceable and reversible)."""
    await Category.update({getattr(Category, name): from_file[name] for name in differs}).where(
        Category.id == row["id"]
    )
    replaced: dict[str, Any] = {
        name: {"was": _raw(name, row[name]), "now": _raw(name, from_file[name])} for name in differs
    }
    await audit.record(
        "category.overwritten_from_city_file",
        actor_kind="system",
        subject=f"category:{row['id']}",
        **replaced,
    )
    log.warning("category %r: %s overwritten from the city file", slug, ", ".join(differs))


async def _upsert(table, key_column, key_value, **values) -> int:
    row = await table.select(table.id).where(key_column == key_value).first()
    if row:
        await table.update({getattr(table, k): v for k, v in values.items()}).where(
            table.id == row["id"]
        )
        return row["id"]
    created = await table.insert(table(**{key_column._meta.name: key_value}, **values)).returning(
        table.id
    )
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
