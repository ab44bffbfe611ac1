"""Open311 read side proven with code nobody here wrote: the PyPI client ``georeport`` (unmodified)
against a live server, in JSON and XML; and every JSON answer validated with ``jsonschema``
against the schemas in tests/open311_schemas.py (written by hand from the spec)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jsonschema
import pytest
from georeport import GeoReport

from db.tables import Complaint
from tests import open311_schemas as schemas
from tests.helpers import db
from tests.report_data import make_dataset

LISTED = "('verified', 'dispatched', 'in_progress', 'resolved', 'closed')"
PUBLIC = "('public', 'anonymous')"


@pytest.fixture
def tickets(client):
    now = datetime.now(UTC)
    db(
        client,
        lambda: make_dataset(
            seed=13, start=now - timedelta(days=30), end=now, now=now, tickets=80, calls=0
        ),
    )
    rows = db(
        client,
        lambda: Complaint.raw(
            f"SELECT number FROM complaint WHERE status IN {LISTED} AND privacy IN {PUBLIC} "
            "ORDER BY created_at DESC, id DESC"
        ),
    )
    return now, [r["number"] for r in rows]


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_the_georeport_client_reads_services_definitions_and_requests(
    live_server, tickets, output_format
):
    now, public = tickets
    api = GeoReport(f"{live_server.url}/open311/v2", output_format=output_format)

    services = api.get_service_list()
    by_code = {s["service_code"]: s for s in services}
    assert by_code["jalan-rusak"]["service_name"] == "Jalan rusak"
    assert by_code["jalan-rusak"]["type"] == "realtime"

    definition = api.get_service_definition("jalan-rusak")
    assert definition["service_code"] == "jalan-rusak"

    one = api.get_service_request(public[0])
    assert one["service_request_id"] == public[0]
    assert one["status"] in ("open", "closed")

    start = (now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    closed = api.get_service_requests(start_date=start, end_date=end, status="closed")
    if isinstance(closed, dict):  # xmltodict: one <request> is a mapping, several a list
        closed = [closed]
    assert closed and {r["status"] for r in closed} == {"closed"}
    assert {r["service_request_id"] for r in closed} <= set(public)
    two = api.get_service_requests(service_request_id=",".join(public[:2]))
    assert [r["service_request_id"] for r in two] == public[:2]


def test_every_json_answer_validates_against_the_spec_schemas(live_server, tickets):
    _now, public = tickets
    base = f"{live_server.url}/open311/v2"
    checks = {
        "/discovery.json": schemas.DISCOVERY,
        "/services.json": schemas.SERVICES,
        "/services/jalan-rusak.json": schemas.SERVICE_DEFINITION,
        "/requests.json?page_size=100": schemas.SERVICE_REQUESTS,
        f"/requests/{public[0]}.json": schemas.SERVICE_REQUESTS,
        "/requests/TIDAK-ADA.json": schemas.ERRORS,
        "/requests.json?status=maybe": schemas.ERRORS,
    }
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    for path, schema in checks.items():
        answer = httpx.get(base + path, timeout=10)
        jsonschema.validate(answer.json(), schema, format_checker=checker)
    assert len(httpx.get(base + "/requests.json?page_size=100").json()) == len(public[:100])
