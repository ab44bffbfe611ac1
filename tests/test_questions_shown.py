"""A citizen's report is held only to the category questions its form showed: a copy of /lapor
kept offline and sent after an admin added a required question is filed, the question marked as
not asked for the staff; a question the form did show is checked in full. Over HTTP, both engines.
"""

from __future__ import annotations

import json

from db.city_data import Question
from db.tables import Complaint, Opd
from tests.factories import complaint_form, operator_act
from tests.helpers import db, post_form, register, soup
from tests.html import field_error, form_value
from tests.staff_helpers import make_staff, signed_in_operator, staff_sign_in
from tests.test_category_questions import answers_on

KIND = "jawaban-jalan-rusak-jenis_kerusakan"
WIDTH = "jawaban-jalan-rusak-lebar_lubang_cm"
LANDMARK = "jawaban-jalan-rusak-patokan"
SHOWN = "pertanyaan-jalan-rusak"
NOT_ASKED = "tidak ditanyakan (formulir lama)"

ROAD_KIND = Question(
    "jenis_kerusakan",
    "singlevaluelist",
    True,
    1,
    "Jenis kerusakan",
    (("berlubang", "Berlubang"), ("retak", "Retak"), ("amblas", "Amblas")),
)
ROAD_WIDTH = Question("lebar_lubang_cm", "number", False, 2, "Perkiraan lebar kerusakan (cm)")
# Added by an admin after the citizen's page was cached.
ROAD_LANDMARK = Question("patokan", "string", True, 3, "Patokan terdekat")


def without_marker(**answers) -> dict:
    """A form from a page cached before forms said which questions they showed."""
    form = complaint_form(**answers)
    del form[SHOWN]
    return form


def stored(client) -> list[dict]:
    return json.loads(
        db(client, lambda: Complaint.select(Complaint.attributes).first())["attributes"]
    )


def test_the_form_says_which_questions_it_showed(client, give_questions):
    give_questions("jalan-rusak", ROAD_KIND, ROAD_WIDTH, ROAD_LANDMARK)
    page = soup(client.get("/lapor"))
    marker = page.select_one(f"fieldset[data-questions-for='jalan-rusak'] input[name='{SHOWN}']")
    assert marker["type"] == "hidden"
    assert marker["value"] == (
        "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:number,patokan:string:wajib"
    )


def test_a_shown_required_question_left_empty_is_refused(make_client):
    citizen = make_client()
    register(citizen)
    refused = post_form(citizen, "/lapor", complaint_form(title="Aspal amblas", **{KIND: ""}))
    assert refused.status_code == 400
    assert field_error(refused, KIND) == "Jawab pertanyaan “Jenis kerusakan”."
    assert form_value(refused, "title") == "Aspal amblas"
    assert db(citizen, lambda: Complaint.count()) == 0


def test_a_form_without_the_marker_is_filed_and_the_unasked_question_marked(
    make_client, give_questions
):
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", without_marker(**{KIND: "", WIDTH: "30"}))
    assert filed.status_code == 200, filed.text[:300]
    number = filed.url.path.rsplit("/", 1)[1]
    # The snapshot keeps its format; the unasked one says so, in asking order.
    assert stored(citizen) == [
        {
            "code": "jenis_kerusakan",
            "question": "Jenis kerusakan",
            "datatype": "singlevaluelist",
            "value": "",
            "shown": "",
            "asked": False,
        },
        {
            "code": "lebar_lubang_cm",
            "question": "Perkiraan lebar kerusakan (cm)",
            "datatype": "number",
            "value": "30",
            "shown": "30",
        },
    ]
    shown = {"Jenis kerusakan": NOT_ASKED, "Perkiraan lebar kerusakan (cm)": "30"}
    assert answers_on(filed) == shown

    # The operator and the OPD know to ask by phone.
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


def test_a_form_without_the_marker_still_has_its_answers_checked(make_client):
    """Answers that came are kept when they fit today's question; one that does not is dropped,
    never refused: whoever queued it cannot be asked (and the question may have changed type)."""
    citizen = make_client()
    register(citizen)
    filed = post_form(citizen, "/lapor", without_marker(**{KIND: "longsor", WIDTH: "dua puluh"}))
    assert filed.status_code == 200, filed.text[:300]
    assert [(a["code"], a.get("asked", True)) for a in stored(citizen)] == [
        ("jenis_kerusakan", False)
    ]


def test_only_the_questions_the_marker_lists_are_enforced(make_client, give_questions):
    give_questions("jalan-rusak", ROAD_KIND, ROAD_WIDTH, ROAD_LANDMARK)
    citizen = make_client()
    register(citizen)
    # The page from before "patokan" was added asked the other two.
    old_page = {SHOWN: "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:number"}
    refused = post_form(
        citizen, "/lapor", complaint_form(**{KIND: "", WIDTH: "12", LANDMARK: ""}, **old_page)
    )
    assert refused.status_code == 400
    assert field_error(refused, KIND) == "Jawab pertanyaan “Jenis kerusakan”."
    assert field_error(refused, LANDMARK) == ""
    refused = post_form(citizen, "/lapor", complaint_form(**{WIDTH: "dua belas"}, **old_page))
    assert refused.status_code == 400 and field_error(refused, WIDTH)

    filed = post_form(citizen, "/lapor", complaint_form(**{KIND: "retak"}, **old_page))
    assert filed.status_code == 200, filed.text[:300]
    assert answers_on(filed) == {"Jenis kerusakan": "Retak", "Patokan terdekat": NOT_ASKED}

    # Today's page shows "patokan": left empty, it is refused.
    today = soup(citizen.get("/lapor")).select_one(f"[name='{SHOWN}']")["value"]
    refused = post_form(citizen, "/lapor", complaint_form(**{KIND: "retak"}, **{SHOWN: today}))
    assert refused.status_code == 400
    assert field_error(refused, LANDMARK) == "Jawab pertanyaan “Patokan terdekat”."
    assert db(citizen, lambda: Complaint.count()) == 1


def test_a_question_shown_in_another_form_is_not_held_to_todays(make_client, give_questions):
    """The page asked the width as free text, or as optional; the admin has since made it a
    required number. The old answer no longer fits: dropped and marked, not refused."""
    width_now = Question("lebar_lubang_cm", "number", True, 2, "Perkiraan lebar kerusakan (cm)")
    give_questions("jalan-rusak", ROAD_KIND, width_now)
    citizen = make_client()
    register(citizen)
    as_text = {SHOWN: "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:string"}
    filed = post_form(
        citizen, "/lapor", complaint_form(**{WIDTH: "kira-kira sejengkal"}, **as_text)
    )
    assert filed.status_code == 200, filed.text[:300]
    assert answers_on(filed)["Perkiraan lebar kerusakan (cm)"] == NOT_ASKED

    as_optional = {SHOWN: "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:number"}
    filed = post_form(citizen, "/lapor", complaint_form(**{WIDTH: ""}, **as_optional))
    assert filed.status_code == 200, filed.text[:300]
    assert answers_on(filed)["Perkiraan lebar kerusakan (cm)"] == NOT_ASKED


def test_the_operators_intake_is_held_to_todays_questions(make_client):
    """The operator sees a refusal at once, with the new question on the page, and asks the
    caller: the intake never files a required question unasked, whatever its form says."""
    operator = signed_in_operator(make_client)
    call = without_marker(channel="phone", reporter_name="Ibu Sari", **{KIND: ""})
    refused = post_form(operator, "/operator/baru", call)
    assert refused.status_code == 400
    assert field_error(refused, KIND) == "Jawab pertanyaan “Jenis kerusakan”."
    assert db(operator, lambda: Complaint.count()) == 0
