"""A category's own questions, edited by admins on /admin/kategori/{id}/pertanyaan: every answer
type, edits, order, removal, refusals that keep what was typed, two admins at once, Open311 and
the city file's seed."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import pytest

from db.tables import AuditLog, Category
from tests.helpers import db, field_error, form_value, post_form, soup
from tests.html import text_of, texts_of
from tests.staff_helpers import make_staff, staff_sign_in

SLUG = "sampah"  # a category the city file gives no questions


@pytest.fixture
def category(client):
    """The category's id; its questions are put back afterwards (categories are reference data,
    seeded once per run, not emptied between tests)."""
    row = db(
        client,
        lambda: (
            Category.select(Category.id, Category.questions).where(Category.slug == SLUG).first()
        ),
    )
    yield row["id"]
    db(
        client,
        lambda: Category.update({Category.questions: row["questions"]}).where(
            Category.id == row["id"]
        ),
    )


def signed_in(make_client, role="admin", username=None):
    client = make_client()
    username = username or f"{role}-kota"
    make_staff(client, role, username=username, opd_slug="dlh" if role == "opd_staff" else None)
    staff_sign_in(client, username)
    return client


def url(category_id: int, action: str = "") -> str:
    return f"/admin/kategori/{category_id}/pertanyaan" + (f"/{action}" if action else "")


def question(code, description, datatype, *, required=False, choices=""):
    form = {"code": code, "description": description, "datatype": datatype, "choices": choices}
    return form | ({"required": "1"} if required else {})


def stored(client, category_id) -> list[dict]:
    row = db(
        client,
        lambda: Category.select(Category.questions).where(Category.id == category_id).first(),
    )
    return json.loads(row["questions"])


def audit_actions(client) -> list[tuple[str, str, str]]:
    rows = db(
        client,
        lambda: (
            AuditLog.select(AuditLog.action, AuditLog.subject, AuditLog.detail)
            .where(AuditLog.action.like("category.question_%"))
            .order_by(AuditLog.id)
        ),
    )
    return [(r["action"], r["subject"], json.loads(r["detail"])["code"]) for r in rows]


def attributes(client) -> list[dict]:
    response = client.get(f"/open311/v2/services/{SLUG}.json")
    assert response.status_code == 200
    return response.json()["attributes"]


EVERY_TYPE = [
    question("lokasi_tps", "Nama TPS terdekat", "string"),
    question("jumlah_karung", "Perkiraan jumlah karung", "number", required=True),
    question("terlihat_sejak", "Sejak kapan sampah menumpuk?", "datetime"),
    question("keterangan", "Keterangan tambahan", "text"),
    question(
        "jenis_sampah",
        "Jenis sampah",
        "singlevaluelist",
        required=True,
        choices="rumah_tangga = Sampah rumah tangga\r\nTumpukan liar / ilegal\n\nbangunan=Puing bangunan",
    ),
    question(
        "bau", "Apa yang terjadi?", "multivaluelist", choices="Bau menyengat\nDikerumuni lalat"
    ),
]


def test_admin_adds_a_question_of_every_type_and_open311_asks_them(make_client, category):
    admin = signed_in(make_client)
    for form in EVERY_TYPE:
        response = post_form(admin, url(category), form)
        assert response.status_code == 200 and response.url.path == url(category)

    page = admin.get(url(category))
    assert [tr["data-code"] for tr in soup(page).select("#questions tr[data-code]")] == [
        f["code"] for f in EVERY_TYPE
    ]
    assert texts_of(page, "#questions tr[data-code] td:nth-of-type(4)") == [
        "Teks pendek",
        "Angka",
        "Tanggal dan jam",
        "Teks panjang",
        "Pilih satu",
        "Pilih beberapa",
    ]
    # The admin index links each category's questions with their number.
    index = soup(admin.get("/admin"))
    link = index.select_one(f'#category-table a[href="{url(category)}"]')
    assert link.get_text(" ", strip=True) == "6 pertanyaan Sampah / kebersihan"

    served = attributes(make_client())
    assert [(a["code"], a["datatype"], a["required"], a["order"]) for a in served] == [
        ("lokasi_tps", "string", False, 1),
        ("jumlah_karung", "number", True, 2),
        ("terlihat_sejak", "datetime", False, 3),
        ("keterangan", "text", False, 4),
        ("jenis_sampah", "singlevaluelist", True, 5),
        ("bau", "multivaluelist", False, 6),
    ]
    kinds = next(a for a in served if a["code"] == "jenis_sampah")
    assert kinds["description"] == "Jenis sampah"
    # "Name" alone gets a key made from the name; blank lines are skipped.
    assert kinds["values"] == [
        {"key": "rumah_tangga", "name": "Sampah rumah tangga"},
        {"key": "tumpukan_liar_ilegal", "name": "Tumpukan liar / ilegal"},
        {"key": "bangunan", "name": "Puing bangunan"},
    ]
    assert "values" not in served[0]
    assert audit_actions(admin) == [
        ("category.question_added", f"category:{category}", f["code"]) for f in EVERY_TYPE
    ]


def test_admin_edits_reorders_and_removes_questions(make_client, category):
    admin = signed_in(make_client)
    for form in EVERY_TYPE[:3]:
        post_form(admin, url(category), form)

    edit_page = admin.get(url(category) + "?ubah=jumlah_karung")
    assert form_value(edit_page, "description") == "Perkiraan jumlah karung"
    assert soup(edit_page).select_one("#required").has_attr("checked")
    assert soup(edit_page).select_one('input[name="code"]')["type"] == "hidden"  # fixed
    edited = post_form(
        admin,
        url(category, "ubah"),
        {
            "code": "jumlah_karung",
            "seen": form_value(edit_page, "seen"),
            "description": "Berapa banyak sampahnya?",
            "datatype": "singlevaluelist",
            "choices": "sedikit = Kurang dari 1 karung\nbanyak = Lebih dari 1 karung",
        },
    )
    assert edited.status_code == 200
    changed = next(a for a in attributes(admin) if a["code"] == "jumlah_karung")
    assert changed["description"] == "Berapa banyak sampahnya?"
    assert changed["required"] is False  # the box was left unticked
    assert [v["key"] for v in changed["values"]] == ["sedikit", "banyak"]

    post_form(admin, url(category, "pindah"), {"code": "terlihat_sejak", "direction": "up"})
    post_form(admin, url(category, "pindah"), {"code": "terlihat_sejak", "direction": "up"})
    # Already first: nothing moves, nothing is recorded.
    post_form(admin, url(category, "pindah"), {"code": "terlihat_sejak", "direction": "up"})
    assert [(a["code"], a["order"]) for a in attributes(admin)] == [
        ("terlihat_sejak", 1),
        ("lokasi_tps", 2),
        ("jumlah_karung", 3),
    ]
    page = admin.get(url(category))
    first = soup(page).select_one("#questions tr[data-code]")
    assert first["data-code"] == "terlihat_sejak"
    assert "Naik" not in first.get_text() and "Turun" in first.get_text()

    post_form(admin, url(category, "hapus"), {"code": "lokasi_tps"})
    post_form(admin, url(category, "hapus"), {"code": "lokasi_tps"})  # a second press: done
    assert [(a["code"], a["order"]) for a in attributes(admin)] == [
        ("terlihat_sejak", 1),
        ("jumlah_karung", 2),
    ]
    assert [(action, code) for action, _, code in audit_actions(admin)][3:] == [
        ("category.question_updated", "jumlah_karung"),
        ("category.question_moved", "terlihat_sejak"),
        ("category.question_moved", "terlihat_sejak"),
        ("category.question_removed", "lokasi_tps"),
    ]


BAD = [
    pytest.param(
        question("Jenis Sampah", "Jenis sampah", "string"), "code", "huruf kecil", id="bad-code"
    ),
    pytest.param(question("", "Jenis sampah", "string"), "code", "Tulis kode", id="no-code"),
    pytest.param(question("jenis", "", "string"), "description", "Tulis pertanyaan", id="empty"),
    pytest.param(
        question("jenis", "Jenis " * 40, "string"), "description", "terlalu panjang", id="long"
    ),
    pytest.param(question("jenis", "Jenis\x00", "string"), "description", "NUL", id="nul"),
    pytest.param(question("jenis", "Jenis sampah", "essay"), "datatype", "Pilih jenis", id="type"),
    pytest.param(
        question("jenis", "Jenis sampah", "singlevaluelist"),
        "choices",
        "perlu daftar pilihan",
        id="list-without-choices",
    ),
    pytest.param(
        question("jenis", "Jenis sampah", "number", choices="satu = Satu"),
        "choices",
        "hanya untuk jenis",
        id="choices-on-a-number",
    ),
    pytest.param(
        question("jenis", "Jenis", "multivaluelist", choices="a = Satu\nBaru\na = Dua"),
        "choices",
        "Baris 3: kunci a sudah dipakai",
        id="duplicate-key",
    ),
    pytest.param(
        question("jenis", "Jenis", "multivaluelist", choices="Satu\nKunci Salah = Dua"),
        "choices",
        "Baris 2: kunci hanya huruf kecil",
        id="bad-key",
    ),
    pytest.param(
        question("jenis", "Jenis", "multivaluelist", choices="!!!"),
        "choices",
        "Baris 1: tulis kuncinya sendiri",
        id="no-key-from-name",
    ),
    pytest.param(
        question("jenis", "Jenis", "multivaluelist", choices="\n".join(f"P{i}" for i in range(51))),
        "choices",
        "Paling banyak 50 pilihan",
        id="too-many-choices",
    ),
]


@pytest.mark.parametrize(("form", "field", "message"), BAD)
def test_bad_input_is_refused_in_indonesian_and_kept(make_client, category, form, field, message):
    admin = signed_in(make_client)
    before = stored(admin, category)
    response = post_form(admin, url(category), form)
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert message in text_of(response, "#form-errors")
    for name in ("code", "description", "choices"):
        assert form_value(response, name) == form[name].replace("\r\n", "\n")
    chosen = soup(response).select_one("#datatype option[selected]")
    assert (chosen["value"] if chosen else "essay") == form["datatype"]
    assert stored(admin, category) == before
    assert audit_actions(admin) == []


def test_a_code_in_use_and_the_21st_question_are_refused(make_client, category):
    admin = signed_in(make_client)
    post_form(admin, url(category), EVERY_TYPE[0])
    again = post_form(admin, url(category), question("lokasi_tps", "Lagi", "text", required=True))
    assert again.status_code == 400
    assert "sudah dipakai" in field_error(again, "code")
    assert form_value(again, "description") == "Lagi"
    assert soup(again).select_one("#required").has_attr("checked")
    assert soup(again).select_one("#datatype option[selected]")["value"] == "text"

    for i in range(2, 21):
        assert post_form(admin, url(category), question(f"q{i}", f"Soal {i}", "string")).is_success
    over = post_form(admin, url(category), question("q21", "Soal 21", "string"))
    assert over.status_code == 400
    assert "Paling banyak 20 pertanyaan" in text_of(over, "#form-errors")
    assert len(stored(admin, category)) == 20


def test_an_edit_from_a_page_older_than_another_admins_edit_is_refused(make_client, category):
    first, second = signed_in(make_client), signed_in(make_client, username="admin-dua")
    post_form(first, url(category), EVERY_TYPE[0])
    page_first = first.get(url(category) + "?ubah=lokasi_tps")
    page_second = second.get(url(category) + "?ubah=lokasi_tps")

    def edit(client, page, description):
        return post_form(
            client,
            url(category, "ubah"),
            {
                "code": "lokasi_tps",
                "seen": form_value(page, "seen"),
                "description": description,
                "datatype": "string",
            },
        )

    assert edit(second, page_second, "TPS mana yang terdekat?").status_code == 200
    refused = edit(first, page_first, "Di TPS mana?")
    assert refused.status_code == 409
    assert "baru saja diubah oleh admin lain" in text_of(refused, "#form-errors")
    assert form_value(refused, "description") == "Di TPS mana?"  # what this admin typed
    assert text_of(refused, '#questions tr[data-code="lokasi_tps"]').startswith(
        "1 TPS mana yang terdekat?"
    )  # what is stored now
    assert stored(first, category)[0]["description"] == "TPS mana yang terdekat?"
    # Saving again from the refused page is a choice made with the other edit in view.
    assert edit(first, refused, "Di TPS mana?").status_code == 200
    assert stored(first, category)[0]["description"] == "Di TPS mana?"

    post_form(second, url(category, "hapus"), {"code": "lokasi_tps"})
    gone = edit(first, first.get(url(category)), "Masih ada?")
    assert gone.status_code == 409
    assert "sudah dihapus" in text_of(gone, "#form-errors")
    assert stored(first, category) == []


def test_two_admins_adding_at_once_lose_nothing(make_client, category):
    admins = [signed_in(make_client), signed_in(make_client, username="admin-dua")]

    def add(i: int) -> int:
        form = question(f"soal_{i}", f"Soal nomor {i}", "string")
        return post_form(admins[i % 2], url(category), form).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(add, range(8))) == [200] * 8
    questions = stored(admins[0], category)
    assert sorted(q["code"] for q in questions) == sorted(f"soal_{i}" for i in range(8))
    assert sorted(q["order"] for q in questions) == list(range(1, 9))
    assert len(audit_actions(admins[0])) == 8

    # Moves and removals at once: each runs on the questions the others left.
    def change(i: int) -> int:
        if i % 2:
            return post_form(admins[0], url(category, "hapus"), {"code": f"soal_{i}"}).status_code
        form = {"code": f"soal_{i}", "direction": "down"}
        return post_form(admins[1], url(category, "pindah"), form).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(change, range(8))) == {200}
    left = stored(admins[0], category)
    assert sorted(q["code"] for q in left) == ["soal_0", "soal_2", "soal_4", "soal_6"]
    assert [q["order"] for q in left] == [1, 2, 3, 4]


def test_two_edits_of_one_question_at_once_one_is_told(make_client, category):
    admins = [signed_in(make_client), signed_in(make_client, username="admin-dua")]
    post_form(admins[0], url(category), EVERY_TYPE[0])
    seen = form_value(admins[0].get(url(category) + "?ubah=lokasi_tps"), "seen")

    def edit(i: int):
        form = {"code": "lokasi_tps", "seen": seen, "description": f"Versi {i}", "datatype": "text"}
        return post_form(admins[i], url(category, "ubah"), form)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(edit, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    winner = next(i for i, a in enumerate(answers) if a.status_code == 200)
    loser = answers[1 - winner]
    assert "baru saja diubah oleh admin lain" in text_of(loser, "#form-errors")
    assert form_value(loser, "description") == f"Versi {1 - winner}"
    assert stored(admins[0], category)[0]["description"] == f"Versi {winner}"
    assert [a for a, _, _ in audit_actions(admins[0])].count("category.question_updated") == 1


@pytest.mark.parametrize("role", ["operator", "opd_staff", "supervisor"])
def test_only_admins_edit_questions(make_client, category, role):
    staff = signed_in(make_client, role)
    assert staff.get(url(category)).status_code == 403
    refused = post_form(staff, url(category), EVERY_TYPE[0], follow_redirects=False)
    assert refused.status_code == 403
    assert stored(staff, category) == []
    signed_out = make_client()
    assert signed_out.get(url(category), follow_redirects=False).status_code in (302, 303)


def test_an_unknown_category_is_not_found(make_client):
    admin = signed_in(make_client)
    assert admin.get(url(999999)).status_code == 404
    assert post_form(admin, url(999999), EVERY_TYPE[0]).status_code == 404
    assert admin.get("/admin/kategori/abc/pertanyaan").status_code == 404


def test_seeding_again_keeps_what_admins_wrote(make_client, category, caplog):
    from web.city import get_city
    from web.seed import seed_city

    admin = signed_in(make_client)
    post_form(admin, url(category), EVERY_TYPE[4])
    road = db(
        admin,
        lambda: (
            Category.select(Category.id, Category.questions)
            .where(Category.slug == "jalan-rusak")
            .first()
        ),
    )
    try:
        post_form(admin, url(road["id"], "hapus"), {"code": "lebar_lubang_cm"})
        with caplog.at_level(logging.WARNING, logger="web.seed"):
            db(admin, lambda: seed_city(get_city()))  # a deploy or a restart
        assert [q["code"] for q in stored(admin, category)] == ["jenis_sampah"]
        assert [q["code"] for q in stored(admin, road["id"])] == ["jenis_kerusakan"]
        assert [a["code"] for a in attributes(admin)] == ["jenis_sampah"]
        # Whoever edits the file is told why their questions do not show.
        warned = " ".join(r.getMessage() for r in caplog.records)
        assert "'jalan-rusak'" in warned and "'sampah'" in warned
        assert "'lampu-jalan'" not in warned
    finally:
        db(
            admin,
            lambda: Category.update({Category.questions: road["questions"]}).where(
                Category.id == road["id"]
            ),
        )
