"""No page runs a query per row: the count stays the same whether a list shows 2 tickets or 25."""

from __future__ import annotations

from db.tables import Opd
from tests.factories import complaint_form, photo_files
from tests.helpers import db, post_form, register
from tests.images import png_bytes
from tests.query_counter import count_queries
from tests.staff_helpers import make_staff, staff_sign_in
from web.workflow.service import Actor, act


def file_tickets(citizen, n, start=0):
    numbers = []
    for i in range(start, start + n):
        numbers.append(
            post_form(
                citizen, "/lapor", complaint_form(title=f"Sampah menumpuk {i:02d}")
            ).url.path.rsplit("/", 1)[1]
        )
    return numbers


def queries_for(client, url, **kwargs) -> int:
    with count_queries() as seen:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return len(seen)


def test_lists_and_details_run_a_fixed_number_of_queries(make_client):
    citizen = make_client()
    register(citizen)
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    opd = make_client()
    make_staff(opd, "opd_staff", opd_slug="dlh")
    staff_sign_in(opd, "opd_staff-dlh")

    def dispatch_all(numbers):
        async def run():
            dlh = (await Opd.select(Opd.id).where(Opd.slug == "dlh").first())["id"]
            op = Actor(kind="system", id=None, role="operator")
            for number in numbers:
                await act(number, "verify", op, expected_version=1)
                await act(number, "dispatch", op, expected_version=2, opd_id=dlh)

        db(citizen, run)

    few = file_tickets(citizen, 2)
    dispatch_all(few)
    pages = {
        "inbox": (operator, "/operator"),
        "inbox rows": (operator, "/operator?sla=on_time"),
        "opd queue": (opd, "/opd"),
        "my reports": (citizen, "/laporan"),
        "ticket (operator)": (operator, f"/operator/tiket/{few[0]}"),
        "ticket (citizen)": (citizen, f"/laporan/{few[0]}"),
    }
    before = {name: queries_for(client, url) for name, (client, url) in pages.items()}

    many = file_tickets(citizen, 23, start=2)
    dispatch_all(many)

    # More history and photos on the same ticket must not add queries either.
    async def busy_ticket():
        op = Actor(kind="system", id=None, role="operator")
        for i in range(5):
            await act(few[0], "add_note", op, expected_version=3 + i, note=f"catatan {i}")

    db(citizen, busy_ticket)
    post_form(
        citizen,
        "/lapor",
        complaint_form(),
        files=photo_files(png_bytes(), png_bytes(), png_bytes()),
    )
    after = {name: queries_for(client, url) for name, (client, url) in pages.items()}
    assert after == before, f"query counts grew with the data: {before} -> {after}"
    assert min(after.values()) >= 2, f"the counter saw no queries: {after}"
    assert max(after.values()) <= 15, after
