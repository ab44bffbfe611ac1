"""Every answer under /open311/ is in the spec's error format, Litestar's own refusals included
(an unknown path, a method the path does not take, a bad suffix); outside it, our HTML pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

BASE = "/open311/v2"


def spec_errors(response) -> list[dict]:
    if response.headers["content-type"].startswith("text/xml"):
        root = ET.fromstring(response.content)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root.findall("error")
        ]
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def test_unknown_paths_answer_the_spec_error_in_the_suffixes_format(client):
    as_json = client.get(f"{BASE}/tidak-ada.json")
    assert as_json.status_code == 404
    [error] = spec_errors(as_json)
    assert error["code"] == 404 and "discovery.json" in error["description"]
    as_xml = client.get(f"{BASE}/tidak-ada.xml")
    assert as_xml.status_code == 404
    assert as_xml.headers["content-type"].startswith("text/xml")
    assert spec_errors(as_xml)[0]["code"] == 404
    # Another suffix, or none: JSON, the spec's default.
    for path in (f"{BASE}/requests.html", f"{BASE}/requests", "/open311/", "/open311/v3/x.csv"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("application/json"), path
        assert spec_errors(answer)[0]["code"] == 404
    # A known route with a bad suffix answers the same way from the handler.
    bad = client.get(f"{BASE}/services/jalan-rusak.html")
    assert bad.status_code == 404 and spec_errors(bad)[0]["code"] == 404


def test_a_method_the_path_does_not_take_is_405_with_allow(client):
    deleted = client.delete(f"{BASE}/requests.json")
    assert deleted.status_code == 405
    [error] = spec_errors(deleted)
    assert error["code"] == 405 and "DELETE" in error["description"]
    assert {"GET", "POST"} <= {m.strip() for m in deleted.headers["allow"].split(",")}
    posted = client.post(f"{BASE}/services.xml", data={"x": "1"})
    assert posted.status_code == 405
    assert spec_errors(posted)[0]["code"] == 405
    assert "POST" not in posted.headers["allow"]
    assert "GET" in posted.headers["allow"]


def test_outside_open311_the_error_pages_stay_html(client):
    missing = client.get("/tidak-ada.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    wrong = client.delete("/transparansi")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("text/html")


def test_a_body_too_large_is_413_in_the_spec_format(make_client):
    client = make_client(photos_per_complaint=1, photo_max_bytes=1000)
    # The limit is the photos at their largest plus 2 MB of text fields.
    answer = client.post(
        f"{BASE}/requests.xml",
        content=b"x" * (3 * 1024 * 1024),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    [error] = spec_errors(answer)
    assert error["code"] == 413 and "terlalu besar" in error["description"]
