"""The filing page checks, on the phone, the server's own rules: the limits and words it is handed
(the form's data-rules) are those of parse_complaint_form and the photo upload, settings included.
And without JavaScript its photo picker is a plain file input."""

from __future__ import annotations

import json

from tests.factories import complaint_form
from tests.helpers import post_form, register, soup
from web.city import get_city
from web.complaints.forms import client_rules


def page_rules(client) -> dict:
    form = soup(client.get("/lapor")).select_one("form[data-complaint-form]")
    return json.loads(form["data-rules"])


def test_the_page_is_handed_the_servers_rules_and_follows_the_settings(make_client, settings):
    client = make_client()
    rules = page_rules(client)
    city = get_city(settings)
    assert rules == client_rules(
        city,
        max_photos=settings.photos_per_complaint,
        photo_max_bytes=settings.photo_max_bytes,
        # The categories' own questions, as seeded from the city's file.
        questions={c.slug: c.questions for c in city.categories},
    )
    assert [q["field"] for q in rules["questions"]["jalan-rusak"] if q["required"]] == [
        "jawaban-jalan-rusak-jenis_kerusakan"
    ]
    assert (
        rules["max_photos"] == 5 and "Paling banyak 5 foto" in rules["messages"]["too_many_photos"]
    )

    changed = page_rules(make_client(photos_per_complaint=3, photo_max_bytes=2 * 1024 * 1024))
    assert changed["max_photos"] == 3
    assert changed["photo_max_bytes"] == 2 * 1024 * 1024
    assert "Paling banyak 3 foto" in changed["messages"]["too_many_photos"]
    assert "lebih dari 2 MB" in changed["messages"]["photo_too_large"]


def test_the_page_knows_the_words_the_server_refuses_with(client):
    rules = page_rules(client)["messages"]
    register(client)
    bad = complaint_form(category="", title="Got", description="rusak", latitude="", longitude="")
    shown = soup(post_form(client, "/lapor", bad)).select(".field-error")
    by_id = {p["id"]: p.get_text(strip=True) for p in shown}
    assert by_id == {
        "category-error": rules["category"],
        "title-error": rules["title_short"],
        "description-error": rules["description_short"],
        "kelurahan-error": rules["kelurahan_missing"],
    }
    outside = complaint_form(latitude="-7.5", longitude="110.4")
    assert (
        soup(post_form(client, "/lapor", outside))
        .select_one("#kelurahan-error")
        .get_text(strip=True)
        == rules["outside_city"]
    )


def test_without_javascript_the_photo_picker_is_a_plain_file_input(client):
    picker = soup(client.get("/lapor")).select_one("[data-photo-picker]")
    plain = picker.select_one("input[type=file][name=photos]")
    assert plain.has_attr("multiple") and not plain.has_attr("hidden")
    # The large buttons and their unnamed inputs appear only when app.js takes over.
    assert picker.select_one("[data-photo-buttons]").has_attr("hidden")
    assert [i.get("name") for i in picker.select("input[type=file]")] == ["photos", None, None]
