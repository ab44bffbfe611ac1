"""What a citizen does with the outbox in real Chromium, and how tests look at the outcome: the
phone's outbox (IndexedDB), the "Menunggu dikirim" list, and the Complaint rows on the server."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect

from tests.helpers import valid_nik


@dataclass(frozen=True)
class Person:
    nik: str
    name: str
    phone_local: str
    phone_e164: str


DEWI = Person(valid_nik(11), "Dewi Lestari", "0812-3333-4444", "+6281233334444")
BUDI = Person(valid_nik(12), "Budi Santoso", "0813-5555-6666", "+6281355556666")


def query(fn):
    # Imported here, so bench/outbox_soak.py can drive pages without the tests' database set-up.
    from tests.conftest import run_async

    return run_async(fn)


def eventually(
    get: Callable[[], Any],
    timeout: float,
    what: str,
    page=None,
    done: Callable[[Any], bool] = bool,
) -> Any:
    """Poll ``get()`` until ``done(value)`` (by default: until it is truthy) and return the value;
    fail with the last value after ``timeout``. With a page, waits through Playwright so the
    page's events keep reaching the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s still not {what}: {value!r}")
        if page is not None and not page.is_closed():
            page.wait_for_timeout(250)
        else:
            time.sleep(0.25)


def sign_up(page, server, person: Person = DEWI) -> None:
    # The session-wide server's log keeps earlier tests' codes for the same number.
    before = len(server.sign_in_codes(person.phone_e164))
    page.goto(f"{server.url}/daftar")
    page.fill("#nik", person.nik)
    page.fill("#name", person.name)
    page.fill("#phone", person.phone_local)
    page.click("button[type=submit]")
    page.wait_for_url("**/masuk/kode")
    page.fill("#code", server.sign_in_code(person.phone_e164, after=before))
    page.click("button[value=verify]")
    signed_in_at(page, "**/lapor")


def signed_in_at(page, url_pattern: str) -> None:
    try:
        page.wait_for_url(url_pattern)
    except Exception as exc:
        errors = page.locator(".field-error, .notice-error").all_inner_texts()
        raise AssertionError(f"sign-in stopped at {page.url}: {errors}") from exc


def sign_in(page, server, person: Person, next_path: str = "/menunggu") -> None:
    before = len(server.sign_in_codes(person.phone_e164))
    page.goto(f"{server.url}/masuk?next={next_path}")
    page.fill("#phone", person.phone_local)
    page.click("button[type=submit]")
    page.wait_for_url("**/masuk/kode")
    page.fill("#code", server.sign_in_code(person.phone_e164, after=before))
    page.click("button[value=verify]")
    signed_in_at(page, f"**{next_path}")


def controlled_by_worker(page, server, path="/lapor"):
    page.evaluate("navigator.serviceWorker.ready")
    page.goto(f"{server.url}{path}")
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    # A phone that loaded the page online knows who is signed in: the page learns it from the
    # account chip it loads after itself. Asked here so that a test going offline at once (on a
    # loaded machine, before the chip came back) does not queue items for nobody.
    page.evaluate("typeof AduanOutbox === 'undefined' ? null : AduanOutbox.whoIsSignedIn()")


def outbox_items(page) -> list[dict]:
    """The outbox as stored on the phone: each item's record, with the sizes and types of its
    photos (kept in a store of their own)."""
    return page.evaluate(
        """AduanOutbox.all().then(items => Promise.all(items.map(i =>
            AduanOutbox.photosOf(i.key).then(photos => ({
                key: i.key, title: i.title, state: i.state, number: i.number, error: i.error,
                attempts: i.attempts, owner: i.owner, problem: i.problem,
                photoSizes: photos.map(p => p.size), photoTypes: photos.map(p => p.type)
            })))))"""
    )


def wait_for_state(page, state, timeout=30.0):
    """Poll the outbox until every item is in ``state``."""
    eventually(
        lambda: [i["state"] for i in outbox_items(page)],
        timeout,
        f"all {state!r}",
        page,
        done=lambda states: bool(states) and all(s == state for s in states),
    )


# A category the city has since retired, as a form page cached before that still offers it: the
# phone cannot know, so such a report is queued and only the server refuses it.
RETIRED_CATEGORY = "kategori-lama"


def offer_retired_category(page) -> None:
    page.evaluate(
        """slug => {
            const option = document.createElement("option");
            option.value = slug;
            option.textContent = "Kategori lama";
            document.querySelector("#category").appendChild(option);
        }""",
        RETIRED_CATEGORY,
    )


def fill_complaint(page, *, title, description, photos=(), category="jalan-rusak"):
    page.select_option("#category", category)
    # The category's required list questions (jalan-rusak asks the kind of damage): the first answer.
    lists = page.locator(f"fieldset[data-questions-for='{category}'] select[required]")
    for i in range(lists.count()):
        lists.nth(i).select_option(index=1)
    page.fill("#title", title)
    page.fill("#description", description)
    page.click("[data-gps-button]")
    # Playwright's expect, not wait_for_function: a string predicate is an eval the CSP may block.
    expect(page.locator("[data-gps-lat]")).not_to_have_value("")
    if photos:
        page.set_input_files(
            "#photos",
            files=[
                {"name": f"IMG_2026{i}.jpg", "mimeType": "image/jpeg", "buffer": data}
                for i, data in enumerate(photos)
            ],
        )
    page.click("button[type=submit]:has-text('Kirim laporan')")


def file_complaint(page, title: str, photos=()) -> str:
    """File one complaint from the form and wait until the outbox holds it and the form is ready
    for the next one; returns the item's key."""
    known = {item["key"] for item in outbox_items(page)}
    fill_complaint(
        page,
        title=title,
        description=f"{title}: sudah seminggu dibiarkan, mohon segera ditangani petugas.",
        photos=photos,
    )

    filed_on = page.url

    def saved():
        if page.url != filed_on:
            raise AssertionError(f"filing {title!r} took the page to {page.url}")
        new = [i for i in outbox_items(page) if i["key"] not in known]
        ready = page.evaluate(
            """() => document.querySelector('#title').value === ''
                && !document.querySelector('button[type=submit]').disabled"""
        )
        return new[0]["key"] if new and ready else None

    return eventually(saved, 30, f"saved {title!r} and ready for the next", page)


def shown_states(page, server) -> dict[str, str]:
    """The states the "Menunggu dikirim" list shows, by item key (opens the list if needed)."""
    if not page.url.endswith("/menunggu"):
        page.goto(f"{server.url}/menunggu")
    page.locator("[data-outbox-list]").wait_for(state="attached")
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.outbox-item')]
            .map(li => [li.dataset.key, li.dataset.state]))"""
    )


def wait_until_shown(page, server, state: str, keys, timeout=30.0) -> None:
    eventually(
        lambda: shown_states(page, server),
        timeout,
        f"every item shown {state!r}",
        page,
        done=lambda shown: shown == dict.fromkeys(keys, state),
    )


def complaints() -> list[dict]:
    """Complaint rows on the server: client_key (as text), number, citizen id."""
    from db.tables import Complaint

    rows = query(
        lambda: Complaint.select(Complaint.client_key, Complaint.number, Complaint.citizen)
    )
    return [{**row, "client_key": str(row["client_key"])} for row in rows]


def citizen_id(person: Person) -> int:
    from db.tables import Citizen

    row = query(
        lambda: Citizen.select(Citizen.id).where(Citizen.phone == person.phone_e164).first()
    )
    return row["id"]


def arrived_once(keys, timeout=30.0, page=None) -> list[dict]:
    """Wait until the server holds exactly one Complaint row per key (and no other); the rows."""
    return eventually(
        complaints,
        timeout,
        f"exactly one row for each of {len(keys)} keys",
        page,
        done=lambda rows: sorted(r["client_key"] for r in rows) == sorted(keys),
    )
