"""SP4N-LAPOR! reconciliation: tracking IDs, the "Perlu diperbarui di LAPOR!" list, import, report."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from db.tables import AuditLog, Complaint
from tests.factories import HTMX, complaint_form, operator_act
from tests.helpers import db, post_form, soup
from tests.query_counter import count_queries
from tests.staff_helpers import signed_in_operator


def _lapor_ticket(operator, lapor_id="LAP-2026-000123", **fields) -> str:
    response = post_form(
        operator, "/operator/baru", complaint_form(channel="lapor", lapor_id=lapor_id, **fields)
    )
    assert response.status_code == 200, response.text[:500]
    return response.url.path.rsplit("/", 1)[1]


def _waiting(operator) -> dict[str, str]:
    page = soup(operator.get("/operator/lapor"))
    return {
        li["id"].removeprefix("lapor-"): li.select_one("textarea").get_text()
        for li in page.select("li.lapor-item")
        if li.select_one("textarea")
    }


def test_tracking_id_at_intake_is_unique_linked_and_searchable(make_client):
    operator = signed_in_operator(make_client)
    number = _lapor_ticket(operator, lapor_id=" lap-2026-000123 ")
    detail = soup(operator.get(f"/operator/tiket/{number}"))
    link = detail.select_one("a[data-lapor-link]")
    assert link.get_text() == "LAP-2026-000123"
    assert link["href"] == "https://www.lapor.go.id/laporan/detil/LAP-2026-000123"
    # Searching the inbox by the ID (any case) finds the ticket and only it.
    post_form(operator, "/operator/baru", complaint_form(channel="phone", title="Jalan lain rusak"))
    rows = soup(operator.get("/operator?q=lap-2026-000123")).select("[data-number]")
    assert [r["data-number"] for r in rows] == [number]
    # A second ticket with the same ID is refused, naming the ticket that has it; input kept.
    again = post_form(
        operator,
        "/operator/baru",
        complaint_form(channel="lapor", lapor_id="LAP-2026-000123", title="Jalan ketiga rusak"),
    )
    assert again.status_code == 400
    assert number in soup(again).find(id="lapor_id-error").get_text()
    assert soup(again).find(attrs={"name": "title"})["value"] == "Jalan ketiga rusak"
    bad = post_form(
        operator, "/operator/baru", complaint_form(channel="lapor", lapor_id="LAP 12/3")
    )
    assert bad.status_code == 400 and "tidak valid" in bad.text
    assert db(operator, lambda: Complaint.count()) == 2


def test_operator_adds_the_id_later_and_duplicates_are_refused(make_client):
    operator = signed_in_operator(make_client)
    first = _lapor_ticket(operator, lapor_id="4529871")
    post_form(operator, "/operator/baru", complaint_form(channel="phone"))
    second = db(
        operator,
        lambda: Complaint.select(Complaint.number).where(Complaint.channel == "phone").first(),
    )["number"]
    refused = post_form(operator, f"/operator/tiket/{second}/lapor", {"lapor_id": "4529871"})
    assert refused.status_code == 400
    assert first in soup(refused).find(id="lapor_id-error").get_text()
    assert soup(refused).find(id="lapor_id")["value"] == "4529871"
    done = post_form(operator, f"/operator/tiket/{second}/lapor", {"lapor_id": "4529872"})
    assert done.status_code == 200
    assert soup(done).select_one("a[data-lapor-link]").get_text() == "4529872"
    actions = db(operator, lambda: AuditLog.select(AuditLog.action))
    assert {"action": "complaint.lapor_linked"} in actions


def test_waiting_list_follows_public_changes_and_the_mark(make_client):
    operator = signed_in_operator(make_client)
    number = _lapor_ticket(operator)
    assert _waiting(operator) == {}  # just filed from LAPOR!: nothing new to tell it
    assert operator_act(operator, number, "verify").status_code == 200
    waiting = _waiting(operator)
    assert list(waiting) == [number] and "Status:" in waiting[number]
    page = soup(operator.get("/operator/lapor"))
    event = page.select_one(f"#lapor-{number} input[name=event]")["value"]
    marked = post_form(
        operator,
        f"/operator/lapor/{number}/diperbarui",
        {"event": event},
        headers_extra={**HTMX, "HX-Target": f"lapor-{number}"},
    )
    assert marked.status_code == 200 and "sudah diperbarui" in marked.text
    assert _waiting(operator) == {}
    assert {"action": "complaint.lapor_updated"} in db(
        operator, lambda: AuditLog.select(AuditLog.action)
    )
    # A later public change shows it again.
    pupr = db(operator, lambda: Complaint.select(Complaint.category.default_opd).first())
    opd_id = pupr["category.default_opd"]
    assert operator_act(operator, number, "dispatch", opd=str(opd_id)).status_code == 200
    assert list(_waiting(operator)) == [number]


def test_daily_report_counts_lapor_tickets_and_those_waiting(make_client):
    admin = signed_in_operator(make_client, role="admin")
    number = _lapor_ticket(admin)
    operator_act(admin, number, "verify")
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    page = soup(admin.get(f"/pimpinan/laporan?tanggal={today}&langsung=1"))
    assert page.select_one('td[data-channel="lapor"]')["data-value"] == "1"
    assert page.select_one('[data-figure="lapor_waiting"]')["data-value"] == "1"


PASTED = (
    "LAP-2026-1\t2026-11-28\tJalan berlubang di Cibeber\tLubang besar di tengah jalan, "
    "sudah dua minggu dan berbahaya.\tJalan rusak\tJl. Raya, Kelurahan Cibeber\n"
    "\n"
    "LAP-2026-2\t29/11/2026\tGenangan air di Kedaleman\tSaluran tersumbat, air menggenang "
    "setiap hujan deras.\tDrainase / banjir\tRT 02 Kedaleman\n"
)


def test_import_paste_files_lapor_tickets_and_refuses_duplicates_whole(make_client):
    operator = signed_in_operator(make_client)
    done = post_form(operator, "/operator/lapor/impor", {"reports": PASTED})
    assert done.status_code == 200, done.text[:500]
    tickets = db(
        operator,
        lambda: Complaint.select(Complaint.lapor_id, Complaint.channel).order_by(Complaint.id),
    )
    assert tickets == [
        {"lapor_id": "LAP-2026-1", "channel": "lapor"},
        {"lapor_id": "LAP-2026-2", "channel": "lapor"},
    ]
    # Again, plus one new and one bad row: refused whole, each problem named, paste kept.
    batch = (
        PASTED
        + "LAP-2026-3\t2026-11-30\tJudul\tIsi laporan cukup panjang sekali.\tTidak ada\tLuar kota\n"
    )
    refused = post_form(operator, "/operator/lapor/impor", {"reports": batch})
    assert refused.status_code == 400
    errors = soup(refused).find(id="import-errors").get_text()
    assert "LAP-2026-1" in errors and "LAP-2026-2" in errors and "Tidak ada" in errors
    assert "LAP-2026-1" in soup(refused).find(id="reports").get_text()
    assert db(operator, lambda: Complaint.count()) == 2


def test_import_csv_with_header_and_bad_rows(make_client):
    operator = signed_in_operator(make_client)
    csv_text = (
        "lapor_id,date,title,text,category,location\n"
        '9001,2026-11-28,Jalan rusak parah,"Aspal mengelupas, banyak lubang di jalan.",Jalan rusak,Cibeber\n'
        "9002,kemarin,Judul kedua,Isi laporan kedua yang cukup panjang.,Jalan rusak,Cibeber\n"
    )
    files = [("csv", ("lapor.csv", csv_text.encode(), "text/csv"))]
    refused = post_form(operator, "/operator/lapor/impor", {"reports": ""}, files=files)
    assert refused.status_code == 400
    assert "kemarin" in soup(refused).find(id="import-errors").get_text()
    assert db(operator, lambda: Complaint.count()) == 0
    good = csv_text.replace("kemarin", "2026-11-29")
    files = [("csv", ("lapor.csv", good.encode(), "text/csv"))]
    done = post_form(operator, "/operator/lapor/impor", {"reports": ""}, files=files)
    assert done.status_code == 200, done.text[:500]
    assert db(operator, lambda: Complaint.count()) == 2
    assert [r["data-line"] for r in soup(done).select("[data-line]")] == []


def test_a_mark_covers_only_the_change_shown_and_never_moves_back(make_client):
    operator = signed_in_operator(make_client)
    number = _lapor_ticket(operator)
    operator_act(operator, number, "verify")
    page = soup(operator.get("/operator/lapor"))
    seen = page.select_one(f"#lapor-{number} input[name=event]")["value"]
    # Another public change arrives while the page is open: marking what was seen keeps it listed.
    opd_id = db(operator, lambda: Complaint.select(Complaint.category.default_opd).first())[
        "category.default_opd"
    ]
    operator_act(operator, number, "dispatch", opd=str(opd_id))
    post_form(operator, f"/operator/lapor/{number}/diperbarui", {"event": seen})
    assert list(_waiting(operator)) == [number]
    latest = soup(operator.get("/operator/lapor")).select_one(f"#lapor-{number} input[name=event]")
    assert int(latest["value"]) > int(seen)
    post_form(operator, f"/operator/lapor/{number}/diperbarui", {"event": latest["value"]})
    assert _waiting(operator) == {}
    # A late second click on the older change does not bring it back.
    post_form(operator, f"/operator/lapor/{number}/diperbarui", {"event": seen})
    assert _waiting(operator) == {}
    # Marking a ticket without a LAPOR! ID, or an event of another ticket, is refused.
    other = post_form(operator, "/operator/baru", complaint_form(channel="phone"))
    other_number = other.url.path.rsplit("/", 1)[1]
    refused = post_form(operator, f"/operator/lapor/{other_number}/diperbarui", {"event": seen})
    assert refused.status_code == 400


def test_the_list_runs_the_same_queries_for_one_ticket_or_many(make_client):
    operator = signed_in_operator(make_client)

    def queries() -> int:
        with count_queries() as seen:
            assert operator.get("/operator/lapor").status_code == 200
        return len(seen)

    first = _lapor_ticket(operator, lapor_id="7000")
    operator_act(operator, first, "verify")
    one = queries()
    for n in range(1, 6):
        number = _lapor_ticket(operator, lapor_id=f"700{n}", title=f"Jalan rusak nomor {n}")
        operator_act(operator, number, "verify")
    assert len(_waiting(operator)) == 6
    assert queries() == one


@pytest.mark.postgres
def test_a_lapor_id_linked_elsewhere_at_the_same_moment_is_refused_with_a_message(make_client):
    """Two operators linking the same LAPOR! report at the same moment both pass the "is it
    taken?" look-up; the unique index refuses the second, who must get the message, not a 500.
    Made deterministic: another connection links the ID and holds its transaction open until
    ``link`` has looked (not taken) and waits on the index."""
    import asyncio

    import asyncpg

    from tests.conftest import POSTGRES_URL
    from web.forms import FormErrors
    from web.lapor import service as lapor

    operator = signed_in_operator(make_client)
    for n in range(2):
        post_form(
            operator, "/operator/baru", complaint_form(channel="phone", title=f"Jalan rusak {n}")
        )
    first, second = [
        row["number"]
        for row in db(operator, lambda: Complaint.select(Complaint.number).order_by(Complaint.id))
    ]
    staff_id = db(operator, lambda: AuditLog.select(AuditLog.actor_id).first())["actor_id"]

    async def race():
        other = await asyncpg.connect(POSTGRES_URL)
        try:
            held = other.transaction()
            await held.start()
            await other.execute(
                "UPDATE complaint SET lapor_id = 'LAP-2026-777777' WHERE number = $1", first
            )
            linking = asyncio.create_task(lapor.link(second, "LAP-2026-777777", staff_id=staff_id))
            for _ in range(200):  # until link's UPDATE waits for the held row of the index
                waiting = await other.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                )
                if waiting or linking.done():
                    break
                await asyncio.sleep(0.02)
            await held.commit()
        finally:
            await other.close()
        return (await asyncio.gather(linking, return_exceptions=True))[0]

    outcome = db(operator, race)
    assert isinstance(outcome, FormErrors), repr(outcome)
    assert "LAP-2026-777777" in outcome.errors["lapor_id"]
    linked = db(operator, lambda: Complaint.count().where(Complaint.lapor_id == "LAP-2026-777777"))
    assert linked == 1
