"""The operators' live inbox (GET /operator/langsung): a server process streams "inbox changed"
for what another process committed, never for what rolled back, to signed-in readers only, and
ends the stream when the session does. Both engines; the browser side is in
test_live_inbox_browser.py."""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass

import httpx
import pytest

from db.engine import write_transaction
from db.tables import Complaint, TimelineEvent
from tests.browser import LiveServer, free_port, start_server, stop_server
from tests.conftest import run_async
from tests.factories import file_ticket
from tests.helpers import db, register
from tests.staff_helpers import PASSWORD
from web import ticket_feed

HEARTBEAT = 1  # ADUAN_LIVE_HEARTBEAT_SECONDS of the server below
STREAMS_PER_STAFF = 2
EVENT_STREAM = {"Accept": "text/event-stream"}


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    process, live = start_server(
        tmp_path_factory.mktemp("live-inbox"),
        free_port(),
        ADUAN_LIVE_HEARTBEAT_SECONDS=str(HEARTBEAT),
        ADUAN_LIVE_STREAMS_PER_STAFF=str(STREAMS_PER_STAFF),
    )
    live.pid = process.pid  # type: ignore[attr-defined]  # its LISTEN connection is named by it
    yield live
    stop_server(process)


@pytest.fixture(scope="module")
def second_server(database, tmp_path_factory):
    """Another web process on the same database, as behind a load balancer."""
    process, live = start_server(
        tmp_path_factory.mktemp("live-inbox-2"),
        free_port(),
        ADUAN_LIVE_HEARTBEAT_SECONDS=str(HEARTBEAT),
        ADUAN_LIVE_STREAMS_PER_STAFF=str(STREAMS_PER_STAFF),
    )
    yield live
    stop_server(process)


def staff_client(server: LiveServer, role: str, username: str) -> httpx.Client:
    """A staff account signed in to the server process through its sign-in form."""
    from db.tables import Opd, StaffUser
    from web.staff.auth import hash_password

    async def create():
        opd = await Opd.select(Opd.id).where(Opd.slug == "pupr").first()
        await StaffUser.insert(
            StaffUser(
                username=username,
                name=username.title(),
                role=role,
                opd=opd["id"] if role == "opd_staff" else None,
                password_hash=hash_password(PASSWORD),
            )
        )

    run_async(create)
    http = httpx.Client(base_url=server.url, timeout=10)
    http.get("/staf/masuk")
    signed_in = http.post(
        "/staf/masuk",
        data={"username": username, "password": PASSWORD},
        headers={"x-csrftoken": http.cookies["csrftoken"]},
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    return http


@dataclass
class Event:
    name: str
    data: str
    at: float  # time.monotonic() when it arrived


class Stream:
    """An open /operator/langsung, read on a thread the way EventSource reads it."""

    def __init__(self, http: httpx.Client) -> None:
        self.events: queue.Queue[Event | BaseException | None] = queue.Queue()
        self.comments = 0
        self.status: int | None = None
        # A connection of its own (a browser tab), signed in with the same cookies.
        self._http = httpx.Client(base_url=http.base_url, cookies=http.cookies, timeout=10)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._http.stream("GET", "/operator/langsung", headers=EVENT_STREAM) as response:
                self.status = response.status_code
                name, data = "message", []
                for line in response.iter_lines():
                    if self._closing.is_set():
                        break  # leaving the block drops the connection: the tab is gone
                    if line.startswith(":"):
                        self.comments += 1
                    elif line.startswith("event:"):
                        name = line.removeprefix("event:").strip()
                    elif line.startswith("data:"):
                        data.append(line.removeprefix("data:").strip())
                    elif line == "":
                        if name != "message" or data:
                            self.events.put(Event(name, "\n".join(data), time.monotonic()))
                        name, data = "message", []
            self.events.put(None)  # the server ended the stream
        except BaseException as exc:  # shown by next()
            self.events.put(exc)

    def next(self, timeout: float = 10) -> Event | None:
        """The next event; None once the server ended the stream."""
        item = self.events.get(timeout=timeout)
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """The tab is closed: its connection goes away (at the next line, a keep-alive at most)."""
        self._closing.set()
        self._thread.join(timeout=5 * HEARTBEAT)
        self._http.close()

    def ended(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


def complaint_id(client, number: str) -> int:
    row = db(
        client, lambda: Complaint.select(Complaint.id).where(Complaint.number == number).first()
    )
    return row["id"]


class RolledBack(Exception):
    pass


def test_the_stream_announces_what_another_process_committed_and_not_what_rolled_back(
    server, make_client
):
    operator = staff_client(server, "operator", "operator-langsung")
    citizen = make_client()  # this test's own process: the server hears it only through the DB
    register(citizen)
    first = complaint_id(citizen, file_ticket(citizen))

    stream = Stream(operator)
    ready = stream.next()
    assert stream.status == 200 and ready is not None and ready.name == "ready"

    async def change_then_roll_back():
        async with write_transaction():
            await TimelineEvent.insert(
                TimelineEvent(complaint=first, kind="internal_note", actor_kind="system")
            )
            await ticket_feed.announce(first)
            raise RolledBack

    with pytest.raises(RolledBack):
        db(citizen, change_then_roll_back)

    filed_at = time.monotonic()
    second = complaint_id(citizen, file_ticket(citizen))
    changed = stream.next()
    assert changed is not None and changed.name == "inbox-changed"
    # Only the committed ticket: had the rolled-back change been announced, it would come first.
    assert changed.data == str(second)
    latency = changed.at - filed_at
    print(f"\nfiled -> announced: {latency * 1000:.0f} ms")
    assert latency < 2

    # An action is a change too (here: verify, by the same other process).
    from web.workflow.service import Actor, act

    system = Actor(kind="system", id=None, role="operator")
    number = db(citizen, lambda: Complaint.select(Complaint.number).where(Complaint.id == first))
    db(citizen, lambda: act(number[0]["number"], "verify", system, expected_version=1))
    changed = stream.next()
    assert changed is not None and changed.name == "inbox-changed" and changed.data == str(first)
    stream.close()
    operator.close()


def test_only_signed_in_readers_get_a_stream_and_never_a_hanging_one(server):
    stranger = httpx.Client(base_url=server.url, timeout=5)
    refused = stranger.get("/operator/langsung", headers=EVENT_STREAM, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"].startswith("/staf/masuk")

    opd = staff_client(server, "opd_staff", "opd-langsung")
    assert opd.get("/operator/langsung", headers=EVENT_STREAM).status_code == 403

    # Anything but EventSource (a link, a crawler, a test walking every route) gets an answer.
    operator = staff_client(server, "operator", "operator-tab")
    plain = operator.get("/operator/langsung")
    assert plain.status_code == 400 and "pembaruan otomatis" in plain.text

    # A few tabs each; one more falls back to the 30 s refresh.
    tabs = [Stream(operator) for _ in range(STREAMS_PER_STAFF)]
    assert all(tab.next().name == "ready" for tab in tabs)
    extra = operator.get("/operator/langsung", headers=EVENT_STREAM)
    assert extra.status_code == 429
    # A closed tab gives its place back (once the server notices the connection is gone).
    tabs.pop().close()
    deadline = time.monotonic() + 5
    while True:
        reopened = Stream(operator)
        first = reopened.next()
        if first is not None or time.monotonic() > deadline:
            break
        reopened.close()
        time.sleep(0.1)  # 429: the server has not seen the closed tab go yet
    assert first is not None and first.name == "ready"
    tabs.append(reopened)
    # Another operator is not counted against this one.
    colleague = staff_client(server, "operator", "operator-rekan")
    other = Stream(colleague)
    assert other.next().name == "ready"
    for tab in [*tabs, other]:
        tab.close()
    for http in (operator, colleague, opd, stranger):
        http.close()


def test_the_tab_limit_holds_over_two_processes_and_tabs_opened_at_once(server, second_server):
    operator = staff_client(server, "operator", "operator-banyak-tab")
    elsewhere = httpx.Client(base_url=second_server.url, cookies=operator.cookies, timeout=10)
    # Three tabs on each process, all opened at the same moment.
    tabs = [Stream(http) for http in [operator, elsewhere] * 3]
    firsts = [tab.next() for tab in tabs]
    open_tabs = [tab for tab, first in zip(tabs, firsts, strict=True) if first is not None]
    assert [first.name for first in firsts if first is not None] == ["ready"] * STREAMS_PER_STAFF
    assert sorted(tab.status for tab in tabs) == [200] * STREAMS_PER_STAFF + [429] * (
        len(tabs) - STREAMS_PER_STAFF
    )
    # A tab closed on one process gives its place to a tab on the other.
    open_tabs.pop().close()
    deadline = time.monotonic() + 5
    while True:
        reopened = Stream(elsewhere)
        first = reopened.next()
        if first is not None or time.monotonic() > deadline:
            break
        reopened.close()
        time.sleep(0.1)  # 429: the closed tab's place is not freed yet
    assert first is not None and first.name == "ready"
    for tab in [*open_tabs, reopened]:
        tab.close()
    for http in (operator, elsewhere):
        http.close()


def test_the_stream_ends_when_the_staff_member_signs_out(server):
    operator = staff_client(server, "operator", "operator-keluar")
    stream = Stream(operator)
    assert stream.next().name == "ready"
    # Alive: keep-alive comments while nothing changes.
    deadline = time.monotonic() + 5 * HEARTBEAT
    while stream.comments == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.comments > 0

    other_tab = httpx.Client(base_url=server.url, cookies=operator.cookies, timeout=5)
    signed_out = other_tab.post(
        "/staf/keluar", headers={"x-csrftoken": operator.cookies["csrftoken"]}
    )
    assert signed_out.status_code == 303
    last = stream.next(timeout=5 * HEARTBEAT)
    assert last is not None and last.name == "signed-out"
    assert stream.next() is None and stream.ended(timeout=5)
    other_tab.close()
    stream.close()
    operator.close()


@pytest.mark.postgres
def test_the_stream_hears_again_after_the_listen_connection_was_cut(server, make_client):
    """A database restart, a fail-over or a firewall's idle cut: the process listens again, the
    page refreshes once for whatever it missed, and later changes arrive as before."""
    import asyncpg

    from tests.conftest import POSTGRES_URL

    operator = staff_client(server, "operator", "operator-putus")
    stream = Stream(operator)
    assert stream.next().name == "ready"
    colleague = staff_client(server, "supervisor", "supervisor-putus")
    other = Stream(colleague)
    assert other.next().name == "ready"

    async def cut() -> int:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            return await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                f"aduan-listen-{server.pid}",
            )
        finally:
            await conn.close()

    assert run_async(cut) == 1  # one LISTEN connection for the process, whatever its streams
    for tab in (stream, other):
        catch_up = tab.next()
        assert catch_up is not None and (catch_up.name, catch_up.data) == ("inbox-changed", "")

    citizen = make_client()
    register(citizen)
    filed = complaint_id(citizen, file_ticket(citizen))
    changed = stream.next()
    assert changed is not None and (changed.name, changed.data) == ("inbox-changed", str(filed))
    stream.close()
    other.close()
    operator.close()
    colleague.close()


def _last_seen(username: str, moved_back: float = 0) -> float:
    """The staff session's "last request of their own" stamp; ``moved_back`` seconds earlier
    first, as if the person had left the desk that long ago."""
    import json

    from db.tables import HttpSession, StaffUser

    async def read() -> float:
        staff = await StaffUser.select(StaffUser.id).where(StaffUser.username == username).first()
        row = await HttpSession.select().where(HttpSession.staff_id == staff["id"]).first()
        data = json.loads(bytes(row["data"]))
        if moved_back:
            data["staff_seen_at"] -= moved_back
            await HttpSession.update({HttpSession.data: json.dumps(data).encode()}).where(
                HttpSession.id == row["id"]
            )
        return data["staff_seen_at"]

    return run_async(read)


def test_an_open_stream_is_not_activity_and_ends_when_the_desk_is_left(server):
    operator = staff_client(server, "operator", "operator-meja")
    # Two minutes since the last click: a request of the person's own would stamp it again.
    seen = _last_seen("operator-meja", moved_back=120)
    stream = Stream(operator)
    assert stream.next().name == "ready"
    deadline = time.monotonic() + 5 * HEARTBEAT
    while stream.comments == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.comments > 0 and _last_seen("operator-meja") == seen  # the stream is no click

    _last_seen("operator-meja", moved_back=30 * 60)  # ADUAN_STAFF_IDLE_MINUTES passed
    # Changes made meanwhile (another test's server, a listener reconnecting) may still arrive
    # first; what must come is the end.
    last = stream.next(timeout=5 * HEARTBEAT)
    while last is not None and last.name == "inbox-changed":
        last = stream.next(timeout=5 * HEARTBEAT)
    assert last is not None and last.name == "signed-out"
    assert stream.next() is None
    stream.close()
    operator.close()


def test_every_function_that_writes_a_timeline_row_announces_it():
    """PostgreSQL hears only what ``announce`` says (SQLite would hear any timeline row): a new
    kind of ticket change must not be silent in production only."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "web"
    writers, silent = [], []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            source = ast.unparse(node)
            if "TimelineEvent.insert(" in source:
                writers.append(f"{path.name}:{node.name}")
                if "ticket_feed.announce(" not in source:
                    silent.append(f"{path.relative_to(root)}:{node.name}")
    assert len(writers) >= 4 and silent == []
