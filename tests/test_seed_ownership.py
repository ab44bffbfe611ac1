"""A restart or a deploy (the seed: web/seed.py) never undoes what an admin set on a category: SLA
hours, default OPD, active and questions belong to /admin/kategori once the category exists. The
city file seeds a new category, and wins only when asked (``seed --overwrite-categories``)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from db.city_data import Category as FileCategory
from db.city_data import Question
from db.tables import AuditLog, Category, Opd
from tests.helpers import db, post_form, register, soup
from tests.staff_helpers import make_staff, staff_sign_in
from web.city import get_city
from web.seed import SeedError, seed_city

ROOT = Path(__file__).resolve().parent.parent
ROAD = "jalan-rusak"  # in the city file: 72 hours, PUPR, two questions
NEW = "trotoar-rusak"  # in no city file


@pytest.fixture
def admin(make_client):
    client = make_client()
    make_staff(client, "admin")
    staff_sign_in(client, "admin-kota")
    return client


@pytest.fixture(autouse=True)
def categories_put_back(client):
    """Categories are reference data, seeded once per run and not emptied between tests: what a
    test changes (or adds) is put back as the city file seeded it."""
    columns = (Category.id, Category.sla_hours, Category.default_opd, Category.active)
    before = db(client, lambda: Category.select(*columns, Category.questions))
    yield
    db(client, lambda: Category.delete().where(Category.slug == NEW))
    for row in before:
        db(
            client,
            lambda row=row: Category.update(
                {
                    Category.sla_hours: row["sla_hours"],
                    Category.default_opd: row["default_opd"],
                    Category.active: row["active"],
                    Category.questions: row["questions"],
                }
            ).where(Category.id == row["id"]),
        )


def category(client, slug: str) -> dict | None:
    return db(client, lambda: Category.select().where(Category.slug == slug).first())


def opd_id(client, slug: str) -> int:
    return db(client, lambda: Opd.select(Opd.id).where(Opd.slug == slug).first())["id"]


def admin_row(admin, slug: str) -> dict:
    """The category's row on the admin page, as the admin sees it."""
    row = soup(admin.get("/admin")).select_one(f"#category-table tr[data-slug={slug}]")
    return {
        "sla_hours": row.select_one("input[name=sla_hours]")["value"],
        "default_opd": row.select_one("select[name=default_opd] option[selected]")["value"],
        "active": row.select_one("input[name=active]").has_attr("checked"),
    }


@pytest.fixture
def citizen(make_client):
    client = make_client()
    register(client)
    return client


def offered(citizen) -> set[str]:
    """The categories the citizen's filing form offers."""
    form = soup(citizen.get("/lapor"))
    return {option["value"] for option in form.select("select[name=category] option[value]")}


def restart(client, city=None, **options):
    """What every node does at start or deploy (``web.manage setup``): seed the city file."""
    return db(client, lambda: seed_city(city or get_city(), **options))


def warnings(caplog) -> str:
    return " ".join(r.getMessage() for r in caplog.records if r.name == "web.seed")


def test_a_restart_keeps_the_admins_sla_opd_and_active(citizen, admin, caplog):
    road = category(admin, ROAD)
    dlh = opd_id(admin, "dlh")
    assert road["sla_hours"] == 72 and road["default_opd"] != dlh and road["active"]
    saved = post_form(
        admin, f"/admin/kategori/{road['id']}", {"sla_hours": "24", "default_opd": str(dlh)}
    )
    assert saved.status_code == 200
    assert ROAD not in offered(citizen)

    with caplog.at_level(logging.WARNING, logger="web.seed"):
        restart(admin)

    assert admin_row(admin, ROAD) == {"sla_hours": "24", "default_opd": str(dlh), "active": False}
    assert ROAD not in offered(citizen)
    # Whoever edits the file is told why the file's SLA and OPD do not show, and how to apply them.
    said = warnings(caplog)
    assert f"category '{ROAD}'" in said
    assert "sla_hours 72" in said and "sla_hours 24" in said
    assert "default_opd 'pupr'" in said and "default_opd 'dlh'" in said
    assert f"--overwrite-categories {ROAD}" in said
    assert "'lampu-jalan'" not in said  # untouched categories are not mentioned
    assert not db(
        admin,
        lambda: AuditLog.exists().where(AuditLog.action == "category.overwritten_from_city_file"),
    )

    # Switched back on by the admin, it stays on after the next restart too.
    post_form(
        admin,
        f"/admin/kategori/{road['id']}",
        {"sla_hours": "24", "default_opd": str(dlh), "active": "1"},
    )
    restart(admin)
    assert admin_row(admin, ROAD) == {"sla_hours": "24", "default_opd": str(dlh), "active": True}
    assert ROAD in offered(citizen)


def test_names_still_follow_the_file(admin):
    road = category(admin, ROAD)
    db(
        admin,
        lambda: Category.update({Category.name: "Nama lama"}).where(Category.id == road["id"]),
    )
    restart(admin)
    assert category(admin, ROAD)["name"] == road["name"]


def test_a_new_category_in_the_file_gets_the_files_settings(citizen, admin, caplog):
    city = get_city()
    in_file = FileCategory(
        slug=NEW,
        name="Trotoar rusak",
        name_en="Broken sidewalk",
        default_opd="dlh",
        sla_hours=36,
        icon=None,
        questions=(Question("panjang_m", "number", False, 1, "Panjang kerusakan (meter)"),),
    )
    deployed = dataclasses.replace(city, categories=(*city.categories, in_file))
    with caplog.at_level(logging.WARNING, logger="web.seed"):
        restart(admin, deployed)
        restart(admin, deployed)  # the next node's start: nothing differs, nothing to say

    created = category(admin, NEW)
    assert admin_row(admin, NEW) == {
        "sla_hours": "36",
        "default_opd": str(opd_id(admin, "dlh")),
        "active": True,
    }
    assert (created["name"], created["name_en"]) == ("Trotoar rusak", "Broken sidewalk")
    assert [q["code"] for q in json.loads(created["questions"])] == ["panjang_m"]
    assert NEW in offered(citizen)
    assert f"'{NEW}'" not in warnings(caplog)


def test_overwrite_lets_the_file_win_for_the_named_categories_only(admin):
    road, bins = category(admin, ROAD), category(admin, "sampah")
    dlh, pupr = opd_id(admin, "dlh"), opd_id(admin, "pupr")
    post_form(admin, f"/admin/kategori/{road['id']}", {"sla_hours": "24", "default_opd": str(dlh)})
    post_form(admin, f"/admin/kategori/{road['id']}/pertanyaan/hapus", {"code": "lebar_lubang_cm"})
    post_form(
        admin,
        f"/admin/kategori/{bins['id']}",
        {"sla_hours": "12", "default_opd": str(bins["default_opd"]), "active": "1"},
    )

    assert restart(admin, overwrite=[ROAD]) == [ROAD]

    assert admin_row(admin, ROAD) == {"sla_hours": "72", "default_opd": str(pupr), "active": False}
    # The file's questions, as first seeded.
    assert json.loads(category(admin, ROAD)["questions"]) == json.loads(road["questions"])
    assert admin_row(admin, "sampah")["sla_hours"] == "12"  # not named: the admin's stays
    # The audit trail keeps what the admin had, so it can be put back.
    event = db(
        admin,
        lambda: (
            AuditLog.select()
            .where(AuditLog.action == "category.overwritten_from_city_file")
            .first()
        ),
    )
    assert event["actor_kind"] == "system" and event["subject"] == f"category:{road['id']}"
    detail = json.loads(event["detail"])
    assert detail["sla_hours"] == {"was": 24, "now": 72}
    assert detail["default_opd"] == {"was": dlh, "now": pupr}
    assert [q["code"] for q in detail["questions"]["was"]] == ["jenis_kerusakan"]
    assert restart(admin, overwrite=[ROAD]) == []  # once applied, nothing left to overwrite


def test_overwriting_a_category_the_file_lacks_changes_nothing(admin):
    road = category(admin, ROAD)
    post_form(
        admin,
        f"/admin/kategori/{road['id']}",
        {"sla_hours": "24", "default_opd": str(road["default_opd"]), "active": "1"},
    )
    with pytest.raises(SeedError, match="tidak-ada"):
        restart(admin, overwrite=[ROAD, "tidak-ada"])
    assert category(admin, ROAD)["sla_hours"] == 24


def manage(*args: str) -> subprocess.CompletedProcess:
    """The command an operator types, against this run's database (conftest's environment)."""
    return subprocess.run(
        [sys.executable, "-m", "web.manage", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_overwrite_command(admin):
    road, bins = category(admin, ROAD), category(admin, "sampah")
    for row, hours in ((road, "24"), (bins, "12")):
        post_form(
            admin,
            f"/admin/kategori/{row['id']}",
            {"sla_hours": hours, "default_opd": str(row["default_opd"]), "active": "1"},
        )

    plain = manage("seed")
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert (category(admin, ROAD)["sla_hours"], category(admin, "sampah")["sla_hours"]) == (24, 12)

    unknown = manage("seed", "--overwrite-categories", "tidak-ada")
    assert unknown.returncode != 0 and "tidak-ada" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    every = manage("seed", "--overwrite-categories")
    assert every.returncode == 0, every.stderr[-2000:]
    assert "2 kategori" in every.stdout and ROAD in every.stdout and "sampah" in every.stdout
    assert (category(admin, ROAD)["sla_hours"], category(admin, "sampah")["sla_hours"]) == (
        road["sla_hours"],
        bins["sla_hours"],
    )
