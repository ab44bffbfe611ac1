"""Limits the pages state come from the settings that enforce them, not from retyped numbers."""

from __future__ import annotations

from tests.factories import complaint_form, photo_files
from tests.helpers import post_form, register, soup


def _photo_input(response):
    return soup(response).select_one("input[type=file][name=photos]")


def test_photo_picker_states_the_default_limit(client):
    register(client)
    page = client.get("/lapor")
    assert _photo_input(page)["data-max-photos"] == "5"
    assert "paling banyak 5" in soup(page).select_one("label[for=photos]").get_text()


def test_photo_picker_follows_photos_per_complaint(make_client):
    client = make_client(photos_per_complaint=3)
    register(client)
    page = client.get("/lapor")
    assert _photo_input(page)["data-max-photos"] == "3"
    assert "paling banyak 3" in soup(page).select_one("label[for=photos]").get_text()


def test_too_large_upload_names_the_configured_photo_size(make_client):
    client = make_client(photo_max_bytes=1024 * 1024, photos_per_complaint=1)
    register(client)
    # Over the request limit (one photo of 1 MB plus 2 MB for the text fields).
    response = post_form(
        client, "/lapor", complaint_form(), files=photo_files(b"\xff" * (4 * 1024 * 1024))
    )
    assert response.status_code == 413
    message = soup(response).get_text(" ", strip=True)
    assert "paling besar 1 MB" in message
    assert "10 MB" not in message
