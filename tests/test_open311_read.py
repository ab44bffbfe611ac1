"""Open311 GeoReport v2, reading, over HTTP: every endpoint in JSON and XML, only what
/transparansi shows (same rule, same rounding), errors in the spec's format, the 90-day window,
paging and bbox, in bounded queries."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from db.tables import Complaint
from tests.helpers import db
from tests.query_counter import count_queries
from tests.report_data import make_dataset

LISTED = "('verified', 'dispatched', 'in_progress', 'resolved', 'closed')"
PUBLIC = "('public', 'anonymous')"
BASE = "/open311/v2"


@pytest.fixture
def api_data(client):
    now = datetime.now(UTC)
    db(
        client,
        lambda: make_dataset(
            seed=12, start=now - timedelta(days=60), end=now, now=now, tickets=160, calls=0
        ),
    )
    return now


def sql(client, query: str, *args) -> list[dict]:
    return db(client, lambda: Complaint.raw(query, *args))


def public_numbers(client, where: str = "TRUE", *args) -> list[str]:
    rows = sql(
        client,
        f"SELECT number FROM complaint WHERE status IN {LISTED} AND privacy IN {PUBLIC} "
        f"AND {where} ORDER BY created_at DESC, id DESC",
        *args,
    )
    return [r["number"] for r in rows]


def xml(response) -> ElementTree.Element:
    assert response.headers["content-type"].startswith("text/xml")
    assert response.content.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(response.content)


def test_discovery_and_services_in_both_formats(client):
    discovery = client.get(f"{BASE}/discovery.json")
    assert discovery.status_code == 200
    endpoint = discovery.json()["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]

    services = client.get(f"{BASE}/services.json")
    assert services.headers["content-type"] == "application/json; charset=utf-8"
    by_code = {s["service_code"]: s for s in services.json()}
    road = by_code["jalan-rusak"]
    assert road["service_name"] == "Jalan rusak"
    assert road["type"] == "realtime" and road["metadata"] is True  # it asks its own questions
    assert by_code["sampah"]["metadata"] is False
    assert (
        road["group"]
        == db(
            client,
            lambda: Complaint.raw(
                "SELECT o.name FROM category c JOIN opd o ON o.id = c.default_opd "
                "WHERE c.slug = 'jalan-rusak'"
            ),
        )[0]["name"]
    )
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == list(by_code)
    assert root.find("service/metadata").text == "true"

    client.cookies.set("bahasa", "en")
    english = {s["service_code"]: s for s in client.get(f"{BASE}/services.json").json()}
    client.cookies.clear()
    assert english["jalan-rusak"]["service_name"] in ("Damaged road", "Jalan rusak")


def test_service_definition_and_unknown_codes(client):
    definition = client.get(f"{BASE}/services/jalan-rusak.json").json()
    assert definition["service_code"] == "jalan-rusak"
    kind, width = definition["attributes"]  # from db/cities/cilegon.toml, in their order
    assert kind["code"] == "jenis_kerusakan" and kind["datatype"] == "singlevaluelist"
    assert kind["required"] is True and kind["variable"] is True and kind["order"] == 1
    assert {"key": "berlubang", "name": "Berlubang"} in kind["values"]
    assert width["datatype"] == "number" and width["required"] is False and "values" not in width
    root = xml(client.get(f"{BASE}/services/jalan-rusak.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "jalan-rusak"
    first = root.find("attributes/attribute")
    assert first.findtext("code") == "jenis_kerusakan" and first.findtext("required") == "true"
    assert [v.findtext("key") for v in first.findall("values/value")] == [
        "berlubang",
        "retak",
        "amblas",
    ]
    plain = client.get(f"{BASE}/services/sampah.json").json()
    assert plain == {"service_code": "sampah", "attributes": []}

    missing = client.get(f"{BASE}/services/tidak-ada.json")
    assert missing.status_code == 404
    assert missing.json() == [
        {"code": 404, "description": "service_code “tidak-ada” tidak ditemukan."}
    ]
    missing_xml = client.get(f"{BASE}/services/tidak-ada.xml")
    assert missing_xml.status_code == 404
    error = xml(missing_xml)
    assert error.tag == "errors" and error.findtext("error/code") == "404"
    assert client.get(f"{BASE}/services/jalan-rusak").status_code == 404
    assert client.get(f"{BASE}/services.csv").status_code == 404


def test_requests_list_exactly_the_public_tickets_and_nothing_personal(client, api_data):
    listed = client.get(f"{BASE}/requests.json?page_size=100")
    assert listed.status_code == 200
    items = listed.json()
    expected = public_numbers(client)
    assert [r["service_request_id"] for r in items] == expected[:100]

    hidden = sql(
        client,
        f"SELECT number FROM complaint WHERE privacy = 'confidential' OR status NOT IN {LISTED}",
    )
    assert hidden
    text = listed.text + client.get(f"{BASE}/requests.xml?page_size=100").text
    for row in hidden:
        assert row["number"] not in text
        one = client.get(f"{BASE}/requests/{row['number']}.json")
        assert one.status_code == 404 and one.json()[0]["code"] == 404
    assert "Pelapor Rahasia" not in text and "Deskripsi pribadi" not in text
    coordinates = re.findall(r'"(?:lat|long)":(-?[\d.]+)|<(?:lat|long)>(-?[\d.]+)<', text)
    assert coordinates and all(len((a or b).split(".")[1]) <= 3 for a, b in coordinates)

    first = items[0]
    row = sql(
        client,
        "SELECT c.*, o.name AS opd_name FROM complaint c LEFT JOIN opd o ON o.id = c.opd "
        "WHERE number = {}",
        first["service_request_id"],
    )[0]
    assert set(first) <= {
        "service_request_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency_responsible", "service_notice", "requested_datetime",
        "updated_datetime", "expected_datetime", "address", "address_id", "lat", "long",
    }  # fmt: skip
    assert first["status"] == ("closed" if row["status"] in ("resolved", "closed") else "open")
    assert first["agency_responsible"] == (row["opd_name"] or "")
    sent = datetime.fromisoformat(first["requested_datetime"])
    assert sent == row["created_at"].replace(microsecond=0)
    assert first["requested_datetime"].endswith("+07:00")
    if row["latitude"] is not None:
        assert first["lat"] == round(row["latitude"], 3)
        assert first["long"] == round(row["longitude"], 3)


def test_one_request_in_json_and_xml(client, api_data):
    number = public_numbers(client)[0]
    single = client.get(f"{BASE}/requests/{number}.json")
    assert [r["service_request_id"] for r in single.json()] == [number]
    root = xml(client.get(f"{BASE}/requests/{number}.xml"))
    assert root.tag == "service_requests"
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [number]
    several = public_numbers(client)[3:5]
    got = client.get(f"{BASE}/requests.json", params={"service_request_id": ",".join(several)})
    assert [r["service_request_id"] for r in got.json()] == several


def test_filters_window_paging_and_bbox(client, api_data):
    now = api_data
    start, end = now - timedelta(days=30), now - timedelta(days=10)
    window = {"start_date": start.isoformat(), "end_date": end.isoformat(), "page_size": "100"}
    got = client.get(f"{BASE}/requests.json", params=window).json()
    assert [r["service_request_id"] for r in got] == public_numbers(
        client, "created_at >= {} AND created_at <= {}", start, end
    )
    closed = client.get(f"{BASE}/requests.json", params={**window, "status": "closed"}).json()
    assert closed and all(r["status"] == "closed" for r in closed)
    road = client.get(f"{BASE}/requests.json", params={**window, "service_code": "jalan-rusak"})
    assert all(r["service_code"] == "jalan-rusak" for r in road.json())

    too_long = client.get(
        f"{BASE}/requests.xml",
        params={"start_date": (now - timedelta(days=91)).isoformat(), "end_date": now.isoformat()},
    )
    assert too_long.status_code == 400
    assert "paling lama 90 hari" in xml(too_long).findtext("error/description")
    for bad, said in (
        ({"page_size": "101"}, "page_size: paling banyak 100."),
        ({"page_size": "-1"}, "page_size: bilangan bulat mulai dari 1."),
        ({"status": "maybe"}, "status: open atau closed."),
        ({"start_date": "kemarin"}, "start_date: bukan tanggal ISO 8601"),
        ({"bbox": "nan,nan,nan,nan"}, "bbox: barat,selatan,timur,utara dalam derajat."),
    ):
        answer = client.get(f"{BASE}/requests.json", params=bad)
        assert answer.status_code == 400 and answer.json()[0]["code"] == 400
        assert answer.json()[0]["description"].startswith(said)  # in the city's language
    # A client that chose English (the site's language cookie) reads English.
    client.cookies.set("bahasa", "en")
    try:
        english = client.get(f"{BASE}/requests.json", params={"status": "maybe"})
        assert english.json()[0]["description"] == "status: open or closed."
    finally:
        client.cookies.delete("bahasa")

    everything = public_numbers(client, "created_at >= {}", now - timedelta(days=90))
    pages = [
        client.get(f"{BASE}/requests.json", params={"page": str(p), "page_size": "20"}).json()
        for p in range(1, 4)
    ]
    assert [r["service_request_id"] for page in pages for r in page] == everything[:60]

    located = [r for r in pages[0] if "lat" in r]
    box = located[0]
    bbox = (
        f"{box['long'] - 0.0005},{box['lat'] - 0.0005},{box['long'] + 0.0005},{box['lat'] + 0.0005}"
    )
    inside = client.get(f"{BASE}/requests.json", params={"bbox": bbox, "page_size": "100"}).json()
    assert box["service_request_id"] in [r["service_request_id"] for r in inside]
    assert all(abs(r["lat"] - box["lat"]) <= 0.0015 for r in inside)
    assert client.get(f"{BASE}/requests.json", params={"bbox": "1,2,3"}).status_code == 400


def test_a_page_of_requests_costs_the_same_few_queries(client, api_data):
    with count_queries() as small:
        assert len(client.get(f"{BASE}/requests.json?page_size=5").json()) == 5
    with count_queries() as large:
        assert len(client.get(f"{BASE}/requests.json?page_size=100").json()) > 50
    with count_queries() as filtered:
        client.get(f"{BASE}/requests.json?page_size=100&service_code=sampah,jalan-rusak")
    assert len(small) == len(large) <= 1 and len(filtered) <= 2


def test_the_public_tickets_index_holds_exactly_what_the_api_lists():
    # PostgreSQL reads a page from the partial index only while the API's lists imply the index's:
    # a status made public without a new index would page by visiting table rows again.
    from web.reports import public

    indexes = importlib.import_module(
        "db.migrations.aduan_2026_11_30t10_40_00_000000_open311_indexes"
    ).POSTGRES_ONLY
    assert all(f"WHERE status IN {LISTED} AND privacy IN {PUBLIC}" in i for i in indexes)
    listed = "(" + ", ".join(f"'{s}'" for s in public.LISTED_STATUSES) + ")"
    shown = "(" + ", ".join(f"'{p}'" for p in public.PUBLIC_PRIVACY) + ")"
    assert (listed, shown) == (LISTED, PUBLIC)
