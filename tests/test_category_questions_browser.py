"""A category's own questions on the filing form in real Chromium: the chosen category's questions
shown and the others hidden and left out, a required one checked on the phone, answers that go
through the offline outbox (checkboxes included), a report queued before a required question was
added filed with it marked unasked, and a queued answer that no longer fits offered for fixing."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from db.city_data import Question
from db.tables import Complaint
from tests.browser import create_staff, staff_page
from tests.outbox_helpers import (
    controlled_by_worker,
    eventually,
    outbox_items,
    query,
    sign_up,
    wait_for_state,
)
from web.complaints.questions import check_answers, errors_as_fields
from web.forms import FormErrors

pytestmark = pytest.mark.browser

KIND = "#jawaban-jalan-rusak-jenis_kerusakan"
ROADS = "fieldset[data-questions-for='jalan-rusak']"
LAMPS = "fieldset[data-questions-for='lampu-jalan']"
SUBMIT = "button[type=submit]:has-text('Kirim laporan')"
SEEDED_ROADS = (
    Question(
        "jenis_kerusakan",
        "singlevaluelist",
        True,
        1,
        "Jenis kerusakan",
        (("berlubang", "Berlubang"), ("retak", "Retak"), ("amblas", "Amblas")),
    ),
    Question("lebar_lubang_cm", "number", False, 2, "Perkiraan lebar kerusakan (cm)"),
)
EFFECTS = Question(
    "dampak",
    "multivaluelist",
    False,
    3,
    "Dampak",
    (("macet", "Macet"), ("genangan", "Genangan air"), ("kecelakaan", "Kecelakaan")),
)
LAMP_KIND = Question("jenis_lampu", "string", True, 1, "Jenis lampu")
LANDMARK = Question("patokan", "string", True, 3, "Patokan terdekat")
SHOWN_ROADS = "pertanyaan-jalan-rusak"


def fill_rest(page, title: str) -> None:
    page.fill("#title", title)
    page.fill("#description", f"{title}: sudah seminggu dibiarkan, mohon segera ditangani.")
    page.click("[data-gps-button]")
    expect(page.locator("[data-gps-lat]")).not_to_have_value("")


def test_the_chosen_categorys_questions_are_shown_and_a_required_one_is_checked(
    phone, live_server, give_questions
):
    give_questions("lampu-jalan", LAMP_KIND)
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    # No category chosen yet: no questions shown, and hidden ones are disabled (never sent).
    expect(page.locator(ROADS)).to_be_hidden()
    expect(page.locator(LAMPS)).to_be_hidden()
    assert page.locator(ROADS).evaluate("set => set.disabled")

    page.select_option("#category", "jalan-rusak")
    expect(page.locator(ROADS)).to_be_visible()
    expect(page.locator(f"{ROADS} legend").first).to_have_text(
        "Pertanyaan untuk kategori Jalan rusak"
    )
    expect(page.locator(LAMPS)).to_be_hidden()
    page.select_option("#category", "lampu-jalan")
    expect(page.locator(LAMPS)).to_be_visible()
    expect(page.locator(ROADS)).to_be_hidden()
    assert page.locator(ROADS).evaluate("set => set.disabled")

    # The required question left empty: refused on the phone, by the field and in the summary.
    page.select_option("#category", "jalan-rusak")
    fill_rest(page, "Jalan retak dekat terminal")
    page.fill("#jawaban-jalan-rusak-lebar_lubang_cm", "dua puluh")
    page.click(SUBMIT)
    summary = page.locator("#form-errors[role=alert]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Jawab pertanyaan “Jenis kerusakan”.")
    expect(page.locator("#jawaban-jalan-rusak-jenis_kerusakan-error")).to_have_text(
        "Jawab pertanyaan “Jenis kerusakan”."
    )
    expect(page.locator("#jawaban-jalan-rusak-lebar_lubang_cm-error")).to_contain_text(
        "harus berupa angka"
    )
    expect(page.locator(KIND)).to_have_attribute("aria-invalid", "true")
    # The lamp's required question is not the roads' business.
    expect(page.locator("#jawaban-lampu-jalan-jenis_lampu-error")).to_have_count(0)
    assert outbox_items(page) == []
    expect(page.locator("#title")).to_have_value("Jalan retak dekat terminal")
    summary.locator("a", has_text="Jenis kerusakan").click()
    expect(page.locator(KIND)).to_be_focused()

    page.select_option(KIND, "retak")
    page.fill("#jawaban-jalan-rusak-lebar_lubang_cm", "20,5")
    page.click(SUBMIT)
    page.wait_for_url("**/laporan/CLG-*?terkirim=1")
    expect(page.locator("dl.category-answers")).to_contain_text("Retak")
    stored = query(lambda: Complaint.select(Complaint.attributes).first())
    assert [(a["code"], a["value"]) for a in json.loads(stored["attributes"])] == [
        ("jenis_kerusakan", "retak"),
        ("lebar_lubang_cm", "20.5"),
    ]


def test_answers_filed_offline_arrive_with_the_report(phone, live_server, give_questions):
    give_questions("jalan-rusak", *SEEDED_ROADS, EFFECTS)
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    phone.set_offline(True)
    page.reload()  # the form as the service worker kept it: its questions come along
    page.select_option("#category", "jalan-rusak")
    page.select_option(KIND, "amblas")
    page.check("input[name='jawaban-jalan-rusak-dampak'][value=macet]")
    page.check("input[name='jawaban-jalan-rusak-dampak'][value=kecelakaan]")
    fill_rest(page, "Jalan amblas depan pasar")
    page.click(SUBMIT)
    expect(page.locator("[data-outbox-notice][role=status]")).to_contain_text(
        "Tersimpan di ponsel ini"
    )
    assert [i["state"] for i in outbox_items(page)] == ["waiting"]
    # Ready for the next report: its questions hidden again until a category is chosen.
    expect(page.locator(ROADS)).to_be_hidden()

    phone.set_offline(False)
    wait_for_state(page, "sent")
    stored = eventually(
        lambda: query(lambda: Complaint.select(Complaint.attributes).first()), 30, "filed"
    )
    assert [(a["code"], a["value"], a["shown"]) for a in json.loads(stored["attributes"])] == [
        ("jenis_kerusakan", "amblas", "Amblas"),
        ("dampak", ["macet", "kecelakaan"], "Macet, Kecelakaan"),
    ]


def test_a_report_queued_before_a_question_was_added_is_filed_with_it_marked_unasked(
    phone, live_server, give_questions
):
    """The citizen answered every question the phone asked: the report is filed, no fixing
    needed, and the staff see which required question was never asked."""
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    phone.set_offline(True)
    page.select_option("#category", "lampu-jalan")  # no questions yet
    fill_rest(page, "Lampu jalan padam")
    page.click(SUBMIT)
    expect(page.locator("[data-outbox-notice]")).to_contain_text("Tersimpan di ponsel ini")
    page.select_option("#category", "jalan-rusak")
    page.select_option(KIND, "amblas")
    fill_rest(page, "Jalan amblas depan masjid")
    page.click(SUBMIT)
    eventually(lambda: len(outbox_items(page)), 10, "two queued", page, done=lambda n: n == 2)
    # The queued road report carries what its page showed; the lamp's page showed nothing.
    queued = page.evaluate("AduanOutbox.all().then(items => items.map(i => i.fields))")
    road = next(f for f in queued if f["category"] == "jalan-rusak")
    assert road[SHOWN_ROADS] == "jenis_kerusakan:singlevaluelist:wajib,lebar_lubang_cm:number"
    assert not any(name.startswith("pertanyaan-lampu") for f in queued for name in f)

    # Meanwhile the city starts asking both categories a required question the phone never saw.
    give_questions("lampu-jalan", LAMP_KIND)
    give_questions("jalan-rusak", *SEEDED_ROADS, LANDMARK)
    phone.set_offline(False)
    wait_for_state(page, "sent")

    def answers_of(title: str) -> list[tuple]:
        row = query(
            lambda: Complaint.select(Complaint.attributes).where(Complaint.title == title).first()
        )
        return [
            (a["code"], a["shown"], a.get("asked", True)) for a in json.loads(row["attributes"])
        ]

    assert answers_of("Lampu jalan padam") == [("jenis_lampu", "", False)]
    assert answers_of("Jalan amblas depan masjid") == [
        ("jenis_kerusakan", "Amblas", True),
        ("patokan", "", False),
    ]
    [lamp] = [i for i in outbox_items(page) if i["title"] == "Lampu jalan padam"]
    page.goto(f"{live_server.url}/laporan/{lamp['number']}")
    expect(page.locator("dl.category-answers")).to_contain_text(
        "Jenis lampu" + "tidak ditanyakan (formulir lama)"
    )


def test_a_queued_answer_that_no_longer_fits_is_offered_for_fixing(
    phone, live_server, give_questions
):
    """A question the phone did show is still checked in full: a choice the city has since
    dropped is refused, and the fixed report is held to today's questions."""
    page = phone.new_page()
    sign_up(page, live_server)
    controlled_by_worker(page, live_server)
    phone.set_offline(True)
    page.select_option("#category", "jalan-rusak")
    page.select_option(KIND, "amblas")
    fill_rest(page, "Jalan amblas dekat stasiun")
    page.click(SUBMIT)
    expect(page.locator("[data-outbox-notice]")).to_contain_text("Tersimpan di ponsel ini")
    kinds_now = Question(
        "jenis_kerusakan",
        "singlevaluelist",
        True,
        1,
        "Jenis kerusakan",
        (("berlubang", "Berlubang"), ("retak", "Retak")),
    )
    give_questions("jalan-rusak", kinds_now, LANDMARK)
    phone.set_offline(False)
    wait_for_state(page, "rejected")
    [item] = outbox_items(page)
    assert "Pilih salah satu jawaban “Jenis kerusakan” dari daftar." in item["error"]
    assert query(lambda: Complaint.count()) == 0

    page.goto(f"{live_server.url}/lapor?ubah={item['key']}")
    expect(page.locator("#title")).to_have_value("Jalan amblas dekat stasiun")
    expect(page.locator(ROADS)).to_be_visible()
    # The page being fixed says what it shows today, not what the queued copy showed.
    expect(page.locator(f"[name='{SHOWN_ROADS}']")).to_have_value(
        "jenis_kerusakan:singlevaluelist:wajib,patokan:string:wajib"
    )
    page.select_option(KIND, "retak")
    page.click(SUBMIT)  # the new required question, now shown, left empty: the phone says so
    expect(page.locator("#form-errors[role=alert]")).to_contain_text(
        "Jawab pertanyaan “Patokan terdekat”."
    )
    page.fill("#jawaban-jalan-rusak-patokan", "Depan loket tiket")
    page.click(SUBMIT)
    page.wait_for_url("**/laporan/CLG-*")
    expect(page.locator("dl.category-answers")).to_contain_text("Depan loket tiket")
    expect(page.locator("dl.category-answers")).not_to_contain_text("tidak ditanyakan")


def test_the_operators_intake_shows_the_chosen_categorys_questions(chromium, live_server):
    create_staff("operator", "operator-tanya")
    context, page = staff_page(
        chromium, live_server, "operator-tanya", {"width": 1280, "height": 900}
    )
    try:
        page.wait_for_url("**/operator")
        page.goto(live_server.url + "/operator/baru")
        expect(page.locator(ROADS)).to_be_hidden()
        page.select_option("#category", "jalan-rusak")
        expect(page.locator(ROADS)).to_be_visible()
        page.select_option(KIND, "berlubang")
        page.select_option("#category", "lampu-jalan")
        expect(page.locator(ROADS)).to_be_hidden()
        assert page.locator(ROADS).evaluate("set => set.disabled")
    finally:
        context.close()


def test_the_phone_checks_answers_with_the_servers_words(phone, live_server):
    """What the phone checks (required answers, number format) it says as the server does; the
    rest (lists, dates, bounds) is left to the server."""
    page = phone.new_page()
    page.goto(live_server.url + "/lapor")
    cases = [{}, {"jenis_kerusakan": ""}, {"lebar_lubang_cm": "lebar"}, {"lebar_lubang_cm": "12,5"}]
    cases += [{"lebar_lubang_cm": v} for v in ("-3", ".5", "12.", "1e5", "12 cm", "1.2.3")]
    on_phone = page.evaluate(
        """cases => {
            const rules = JSON.parse(document.querySelector("[data-complaint-form]").dataset.rules);
            return cases.map(answers => {
                const values = {category: "jalan-rusak"};
                Object.keys(answers).forEach(code => {
                    values["jawaban-jalan-rusak-" + code] = answers[code];
                });
                const errors = AduanComplaintCheck.fields(values, rules);
                return Object.keys(errors).filter(k => k.startsWith("jawaban-"))
                    .reduce((kept, k) => ({...kept, [k]: errors[k]}), {});
            });
        }""",
        cases,
    )
    for answers, phone_says in zip(cases, on_phone, strict=True):
        try:
            check_answers(
                SEEDED_ROADS, {k: [v] for k, v in answers.items()}, tz=ZoneInfo("Asia/Jakarta")
            )
            server_says = {}
        except FormErrors as exc:
            server_says = errors_as_fields(exc.errors, "jalan-rusak")
        assert phone_says == server_says, answers
