"""A new release reaches an installed app cleanly: old caches go, the citizen is offered a reload."""

from __future__ import annotations

import pytest

from tests.browser import free_port, start_server, stop_server
from tests.outbox_helpers import eventually

pytestmark = pytest.mark.browser


def cache_names(page) -> list[str]:
    return page.evaluate("caches.keys()")


def test_new_release_is_offered_then_replaces_the_old_caches(database, phone, tmp_path):
    port = free_port()
    process, server = start_server(tmp_path, port, ADUAN_RELEASE="2026.11.1")
    try:
        page = phone.new_page()
        page.goto(server.url + "/lapor")
        page.evaluate("navigator.serviceWorker.ready")
        page.goto(server.url + "/lapor")
        old_caches = cache_names(page)
        assert len(old_caches) == 2 and all(name.startswith("aduan-") for name in old_caches)
        assert page.locator("[data-update-banner]").is_hidden()
    finally:
        stop_server(process)

    process, server = start_server(tmp_path, port, ADUAN_RELEASE="2026.11.2")
    try:
        page.goto(server.url + "/lapor")  # the navigation makes the browser check /sw.js
        banner = page.locator("[data-update-banner]")
        banner.wait_for(state="visible")
        # Until the citizen chooses, the page keeps running with the old worker and its caches.
        assert set(old_caches) <= set(cache_names(page))

        with page.expect_navigation():
            banner.locator("button").click()
        page.evaluate("navigator.serviceWorker.ready")
        # Polled through page.evaluate, which awaits the promise (wait_for_function does not).
        eventually(
            lambda: page.evaluate(
                "old => caches.keys().then(keys => keys.length === 2 && !keys.some(k => old.includes(k)))",
                old_caches,
            ),
            10,
            "the new worker's two caches and none of the old",
            page,
        )
        new_caches = cache_names(page)
        assert set(new_caches).isdisjoint(old_caches), "old caches must be deleted on activation"
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        assert page.locator("[data-update-banner]").is_hidden()
    finally:
        stop_server(process)
