"""A category's own questions on the citizen's filing form over HTTP: asked per category, checked
by the server (answers refused keep the whole form and store nothing), kept with the ticket as
asked, and shown to the citizen, the operator and the OPD, never on public pages."""

from __future__ import annotations

import json
import re

from db.city_data import Question
from db.tables import Complaint, ComplaintPhoto, Opd
from tests.factories import complaint_form, operator_act, photo_files, stored_files
from tests.helpers import db, post_form, register, soup
from tests.html import field_error, form_value, text_of, texts_of
from tests.images import png_bytes
from tests.staff_helpers import make_staff, signed_in_operator, staff_sign_in

KIND = "jawaban-jalan-rusak-jenis_kerusakan"
WIDTH = "jawaban-jalan-rusak-lebar_lubang_cm"


def answers_on(response) -> dict[str, str]:
    page = soup(response)
    box = page.select_one("dl.category-answers")
    if box is None:
        return {}
    heading = box.find_previous(["h2", "h3"]).get_text(strip=True)
    assert heading == "Jawaban pertanyaan kategori"
    names = [dt.get_text(strip=True) for dt in box.select("dt")]
    return dict(zip(names, (dd.get_text(strip=True) for dd in box.select("dd")), strict=True))


def test_the_form_asks_each_categorys_questions_under_its_own_legend(client):
    page = soup(client.get("/lapor"))
    sets = page.select("fieldset[data-questions-for]")
    # Only categories that ask something get a fieldset (cilegon.toml: roads).
    assert [s["data-questions-for"] for s in sets] == ["jalan-rusak"]
    roads = sets[0]
    assert roads.legend.get_text(strip=True) == "Pertanyaan untuk kategori Jalan rusak"
    kind = roads.select_one(f"select[name='{KIND}']")
    assert kind.has_attr("required")
    assert [o["value"] for o in kind.select("option")] == ["", "berlubang", "retak", "amblas"]
    assert roads.select_one(f"label[for='{KIND}']").get_text(strip=True) == "Jenis kerusakan"
    width = roads.select_one(f"input[name='{WIDTH}']")
    assert width["inputmode"] == "decimal" and not width.has_attr("required")
    # No category chosen yet: rendered hidden (app.js hides it anyway: no layout shift), never
    # disabled; without JavaScript the noscript stylesheet shows every category's questions.
    assert roads.has_attr("hidden") and not roads.has_attr("disabled")
    noscript = page.select_one("head noscript")
    assert noscript and "/static/css/noscript." in str(noscript)
    sheet = client.get(re.search(r'href="([^"]+)"', str(noscript)).group(1))
    assert "fieldset[data-questions-for][hidden] { display: block !important; }" in sheet.text


def test_valid_answers_are_stored_and_shown_to_citizen_operator_and_opd(
    make_client, give_questions
):
    citizen = make_client()
    register(citizen, name="Rahmat Hidayat")
    filed = post_form(
        citizen, "/lapor", complaint_form(**{KIND: "amblas", WIDTH: "40,5"}), files=None
    )
    assert filed.status_code == 200, filed.text[:300]
    number = filed.url.path.rsplit("/", 1)[1]
    ticket = db(citizen, lambda: Complaint.select().where(Complaint.number == number).first())
    assert json.loads(ticket["attributes"]) == [
        {
            "code": "jenis_kerusakan",
            "question": "Jenis kerusakan",
            "datatype": "singlevaluelist",
            "value": "amblas",
            "shown": "Amblas",
        },
        {
            "code": "lebar_lubang_cm",
            "question": "Perkiraan lebar kerusakan (cm)",
            "datatype": "number",
            "value": "40.5",
            "shown": "40,5",
        },
    ]
    shown = {"Jenis kerusakan": "Amblas", "Perkiraan lebar kerusakan (cm)": "40,5"}
    assert answers_on(filed) == shown  # the citizen's own ticket page

    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    assert answers_on(operator.get(f"/operator/tiket/{number}")) == shown
    pupr = db(operator, lambda: Opd.select(Opd.id).where(Opd.slug == "pupr").first())["id"]
    operator_act(operator, number, "verify")
    operator_act(operator, number, "dispatch", opd=str(pupr))

    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="pupr")
    staff_sign_in(opd, "opd_staff-pupr")
    assert answers_on(opd.get(f"/opd/tiket/{number}")) == shown

    # A snapshot: the admin later drops the question, the ticket still reads as it was filed.
    give_questions("jalan-rusak")
    assert answers_on(operator.get(f"/operator/tiket/{number}")) == shown
    # Public pages never show them.
    assert "Amblas" not in make_client().get("/transparansi").text


def test_a_ticket_without_answers_shows_no_answer_list(make_client):
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", complaint_form(category="lampu-jalan"))
    assert filed.status_code == 200
    assert answers_on(filed) == {}
    ticket = db(citizen, lambda: Complaint.select(Complaint.attributes).first())
    assert ticket["attributes"] is None


def test_refused_answers_keep_the_form_and_store_nothing(make_client, settings):
    citizen = make_client()
    register(citizen)
    cases = [
        ({KIND: ""}, KIND, "Jawab pertanyaan “Jenis kerusakan”."),
        (
            {WIDTH: "empat puluh"},
            WIDTH,
            "Jawaban “Perkiraan lebar kerusakan (cm)” harus berupa angka, misalnya 12 atau 12,5.",
        ),
        ({KIND: "longsor"}, KIND, "Pilih salah satu jawaban “Jenis kerusakan” dari daftar."),
    ]
    for answers, field, message in cases:
        typed = complaint_form(title="Aspal amblas dekat pasar", **{KIND: "retak", **answers})
        refused = post_form(citizen, "/lapor", typed, files=photo_files(png_bytes()))
        assert refused.status_code == 400, refused.text[:300]
        assert field_error(refused, field) == message
        summary = soup(refused).select_one("[data-error-summary]")
        assert message in [a.get_text(strip=True) for a in summary.select("a")]
        assert summary.select_one(f"a[href='#{field}']")
        # Everything typed is still there, answers included.
        assert form_value(refused, "title") == "Aspal amblas dekat pasar"
        assert form_value(refused, "category") == "jalan-rusak"
        for name in (KIND, WIDTH):
            if (typed.get(name) and name != field) or name == WIDTH == field:
                assert form_value(refused, name) == typed[name]
        control = soup(refused).select_one(f"[name='{field}']")
        assert control["aria-invalid"] == "true"
        # The chosen category's questions come back shown.
        assert not control.find_parent("fieldset", attrs={"data-questions-for": True}).has_attr(
            "hidden"
        )
    assert db(citizen, lambda: Complaint.count()) == 0
    assert db(citizen, lambda: ComplaintPhoto.count()) == 0
    assert stored_files(settings.media_dir) == []


def test_refused_answers_and_other_mistakes_are_reported_together(make_client):
    citizen = make_client()
    register(citizen)
    refused = post_form(citizen, "/lapor", complaint_form(title="Go", **{KIND: ""}))
    assert refused.status_code == 400
    assert field_error(refused, "title") and field_error(refused, KIND)


def test_only_the_chosen_categorys_fields_are_read(make_client, give_questions):
    """Without JavaScript every category's fields are sent; two categories may use one code."""
    citizen = make_client()
    register(citizen)
    asked = Question(
        "jenis_kerusakan", "singlevaluelist", True, 1, "Jenis lampu", (("led", "LED"),)
    )
    give_questions("lampu-jalan", asked)
    lamp = "jawaban-lampu-jalan-jenis_kerusakan"
    page = soup(citizen.get("/lapor"))
    assert len(page.select(f"[name='{lamp}']")) == 1 and len(page.select(f"[name='{KIND}']")) == 1
    # Sent as the page sends it: every category's "what I showed" field.
    lamp_shown = {
        "pertanyaan-lampu-jalan": page.select_one("[name='pertanyaan-lampu-jalan']")["value"]
    }

    # Roads, with the lamp's question left empty: the lamp's required question is not asked.
    roads = post_form(citizen, "/lapor", complaint_form(**{KIND: "retak", lamp: ""}, **lamp_shown))
    assert roads.status_code == 200, roads.text[:300]
    assert answers_on(roads) == {"Jenis kerusakan": "Retak"}
    # Lamps, with the roads' answer filled in: the lamp's own field is the one that counts.
    lamps = post_form(
        citizen,
        "/lapor",
        complaint_form(category="lampu-jalan", **{KIND: "retak", lamp: ""}, **lamp_shown),
    )
    assert lamps.status_code == 400
    assert field_error(lamps, lamp) == "Jawab pertanyaan “Jenis lampu”."
    assert texts_of(lamps, ".field-error") == ["Jawab pertanyaan “Jenis lampu”."]
    filed = post_form(citizen, "/lapor", complaint_form(category="lampu-jalan", **{lamp: "led"}))
    assert answers_on(filed) == {"Jenis lampu": "LED"}
    assert text_of(filed, ".ticket-number")


def test_the_operator_asks_the_same_questions_on_a_callers_behalf(make_client):
    operator = signed_in_operator(make_client)
    page = soup(operator.get("/operator/baru"))
    roads = page.select_one("fieldset[data-questions-for='jalan-rusak']")
    assert roads.legend.get_text(strip=True) == "Pertanyaan untuk kategori Jalan rusak"
    assert roads.select_one(f"select[name='{KIND}']")

    call = complaint_form(channel="phone", reporter_name="Ibu Sari", **{KIND: "", WIDTH: "15"})
    refused = post_form(operator, "/operator/baru", call)
    assert refused.status_code == 400
    assert field_error(refused, KIND) == "Jawab pertanyaan “Jenis kerusakan”."
    assert form_value(refused, WIDTH) == "15"
    assert form_value(refused, "reporter_name") == "Ibu Sari"
    assert db(operator, lambda: Complaint.count()) == 0

    filed = post_form(operator, "/operator/baru", {**call, KIND: "retak"})
    assert filed.status_code == 200, filed.text[:300]
    assert answers_on(filed) == {"Jenis kerusakan": "Retak", "Perkiraan lebar kerusakan (cm)": "15"}
