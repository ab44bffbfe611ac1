"""The operator inbox's filters, search, sorting and keyset pages, on a varied set of tickets.

Every filter is checked against the expected set computed here in Python, across all pages, so a
filter that drops or repeats tickets, or a cursor that skips a page boundary, fails.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.tables import Category, Complaint, Kecamatan, Kelurahan, Opd
from tests.helpers import db, soup
from tests.staff_helpers import make_staff, staff_sign_in
from web.inbox.queries import PAGE_SIZE

STATUSES = ("received", "verified", "dispatched", "in_progress", "resolved", "closed")
CHANNELS = ("pwa", "phone", "lapor")
WORDS = ("lubang", "lampu", "banjir", "sampah", "parkir")
NOW = datetime.now(UTC)


async def _make_tickets(n: int) -> list[dict]:
    rng = random.Random(4)
    categories = await Category.select(Category.id, Category.slug).limit(3)
    kelurahan = await Kelurahan.select(Kelurahan.id, Kelurahan.kecamatan.code.as_alias("kecamatan"))
    opds = await Opd.select(Opd.id).limit(3)
    tickets = []
    for i in range(n):
        category = categories[i % len(categories)]
        place = rng.choice(kelurahan)
        status = STATUSES[i % len(STATUSES)]
        created = NOW - timedelta(days=rng.randint(0, 20), minutes=i)
        with_opd = status in ("dispatched", "in_progress", "resolved", "closed")
        started = created + timedelta(hours=1) if with_opd else None
        # Some overdue, some near breach, some on time: due times spread around now.
        due = NOW + timedelta(hours=rng.choice((-5, 2, 40))) if with_opd else None
        word = WORDS[i % len(WORDS)]
        ticket = {
            "number": f"CLG-2026-{900000 + i:06d}",
            "category": category["slug"],
            "kecamatan": place["kecamatan"],
            "status": status,
            "channel": CHANNELS[i % len(CHANNELS)],
            "opd": opds[i % len(opds)]["id"] if with_opd else None,
            "created_at": created,
            "due": due,
            "warn": due - (due - started) * 0.2 if due else None,
            "word": word,
        }
        await Complaint.insert(
            Complaint(
                number=ticket["number"],
                client_key=uuid.uuid4(),
                classification="complaint",
                category=category["id"],
                title=f"Laporan {word} nomor {i}",
                description=f"Ada masalah {word} di sini",
                kelurahan=place["id"],
                privacy="public",
                status=status,
                channel=ticket["channel"],
                opd=ticket["opd"],
                sla_started_at=started,
                sla_warn_at=ticket["warn"],
                sla_due_at=due,
                created_at=created,
                updated_at=created,
            )
        )
        tickets.append(ticket)
    return tickets


def _all_pages(client, url: str) -> list[str]:
    """Ticket numbers on every page, following "Muat berikutnya" as htmx does."""
    numbers: list[str] = []
    response = client.get(url)
    for _ in range(50):
        page = soup(response)
        numbers += [row["data-number"] for row in page.select("tr.ticket-row")]
        more = page.select_one("#inbox-more a")
        if more is None:
            return numbers
        response = client.get(
            more["hx-get"], headers={"HX-Request": "true", "HX-Target": "inbox-more"}
        )
    raise AssertionError("pagination did not end")


@pytest.fixture
def inbox(make_client):
    operator = make_client()
    make_staff(operator, "operator")
    staff_sign_in(operator, "operator-kota")
    tickets = db(operator, lambda: _make_tickets(PAGE_SIZE * 2 + 7))
    kecamatan = db(operator, lambda: Kecamatan.select(Kecamatan.code))
    return operator, tickets, [row["code"] for row in kecamatan]


def _sla_state(ticket: dict) -> str:
    if ticket["due"] is None or ticket["status"] not in ("dispatched", "in_progress"):
        return ""
    if ticket["due"] < NOW:
        return "overdue"
    return "near_breach" if ticket["warn"] <= NOW else "on_time"


def test_every_filter_returns_exactly_its_tickets_across_pages(inbox):
    operator, tickets, kecamatan_codes = inbox
    newest_first = [t["number"] for t in sorted(tickets, key=lambda t: t["number"], reverse=True)]
    assert _all_pages(operator, "/operator") == newest_first

    checks = {
        "status=dispatched": lambda t: t["status"] == "dispatched",
        "kategori=" + tickets[1]["category"]: lambda t: t["category"] == tickets[1]["category"],
        "kanal=lapor": lambda t: t["channel"] == "lapor",
        f"opd={tickets[3]['opd']}": lambda t: t["opd"] == tickets[3]["opd"],
        "sla=overdue": lambda t: _sla_state(t) == "overdue",
        "sla=on_time": lambda t: _sla_state(t) == "on_time",
        "sla=near_breach": lambda t: _sla_state(t) == "near_breach",
        "q=banjir": lambda t: t["word"] == "banjir",
        f"status=received&kategori={tickets[0]['category']}": lambda t: (
            t["status"] == "received" and t["category"] == tickets[0]["category"]
        ),
    }
    for code in kecamatan_codes[:3]:
        checks[f"kecamatan={code}"] = lambda t, code=code: t["kecamatan"] == code
    city = ZoneInfo("Asia/Jakarta")
    since = (NOW - timedelta(days=5)).astimezone(city).date()
    checks[f"dari={since.isoformat()}"] = lambda t: t["created_at"].astimezone(city).date() >= since

    for query, wanted in checks.items():
        expected = [number for number in newest_first if wanted(_by_number(tickets, number))]
        assert _all_pages(operator, f"/operator?{query}") == expected, query
    # Each row's SLA badge says what the SLA filters say.
    for state in ("overdue", "near_breach", "on_time"):
        page = soup(operator.get(f"/operator?sla={state}"))
        rows = page.select("tr.ticket-row")
        assert rows, state
        assert all(row.select_one(f".sla-{state}") for row in rows), state
    assert _all_pages(operator, "/operator?kategori=tidak-ada") == []
    assert _all_pages(operator, "/operator?q=kebakaran") == []


def test_oldest_first_and_sla_order_walk_every_page(inbox):
    operator, tickets, _ = inbox
    oldest_first = sorted(t["number"] for t in tickets)
    assert _all_pages(operator, "/operator?urut=oldest") == oldest_first

    by_due = sorted(
        (t for t in tickets if t["due"] is not None), key=lambda t: (t["due"], t["number"])
    )
    assert _all_pages(operator, "/operator?urut=sla") == [t["number"] for t in by_due]


def test_search_by_ticket_number_is_exact(inbox):
    operator, tickets, _ = inbox
    number = tickets[5]["number"]
    assert _all_pages(operator, f"/operator?q={number.lower()}") == [number]


def _by_number(tickets: list[dict], number: str) -> dict:
    return next(t for t in tickets if t["number"] == number)


def test_word_search_in_the_newest_window_first_finds_the_same_pages(inbox, monkeypatch):
    """PostgreSQL searches the newest ids first; with a tiny window both paths are exercised:
    a common word fills pages from the window, a word only in old tickets needs the full search."""
    from web.inbox import queries

    operator, tickets, _ = inbox
    expected = {
        word: [
            t["number"]
            for t in sorted(tickets, key=lambda t: t["number"], reverse=True)
            if t["word"] == word
        ]
        for word in WORDS
    }
    every = [t["number"] for t in sorted(tickets, key=lambda t: t["number"], reverse=True)]
    # 30 ids: the first page of "laporan" (in every title) comes from the window, the next page
    # does not fit in its window and falls back; each single word falls back at once.
    monkeypatch.setattr(queries, "SEARCH_WINDOW", 30)
    monkeypatch.setattr(queries, "_newest", None)
    assert _all_pages(operator, "/operator?q=laporan") == every
    for word, numbers in expected.items():
        assert _all_pages(operator, f"/operator?q={word}") == numbers, word
    oldest = min(tickets, key=lambda t: t["number"])
    assert _all_pages(operator, "/operator?q=nomor+0") == [oldest["number"]]


def test_malformed_cursors_and_ids_are_ignored_not_errors(inbox):
    operator, tickets, _ = inbox
    newest_first = sorted((t["number"] for t in tickets), reverse=True)
    for query in (
        "setelah=99999999999999999999",
        "setelah=²",
        "opd=99999999999999999999",
        "urut=sla&setelah=2026-01-01|1",  # a date without a time zone
        "urut=sla&setelah=2026-01-01T00:00:00%2B00:00|99999999999999999999",
    ):
        response = operator.get(f"/operator?{query}")
        assert response.status_code == 200, query
    first_page = [
        row["data-number"]
        for row in soup(operator.get("/operator?setelah=²")).select("tr.ticket-row")
    ]
    assert first_page == newest_first[:PAGE_SIZE]


def test_percent_and_underscore_in_a_search_are_characters_not_wildcards(inbox):
    operator = inbox[0]

    async def special():
        ticket = await Complaint.select(Complaint.all_columns()).first()
        ticket.pop("id")
        ticket.update(
            number="CLG-2026-999999",
            client_key=uuid.uuid4(),
            title="Tarif parkir naik 350% tanpa pengumuman",
        )
        await Complaint.insert(Complaint(**ticket))

    db(operator, special)
    # "%" alone listed every ticket on SQLite; at most the one with a "%" in it may match.
    assert set(_all_pages(operator, "/operator?q=%25")) <= {"CLG-2026-999999"}
    assert _all_pages(operator, "/operator?q=_") == []
    assert _all_pages(operator, "/operator?q=a_a") == []
    assert _all_pages(operator, "/operator?q=350%25") == ["CLG-2026-999999"]
