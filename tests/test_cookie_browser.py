"""In real Chromium: the page's JS finds the CSRF token under the __Host- name behind https (and
ignores a planted plain one), and the inbox's self-refresh is marked as a poll under our CSP."""

from __future__ import annotations

import pytest

from tests.browser import create_staff, free_port, staff_page, start_server, stop_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def https_server(database, tmp_path_factory):
    """The app configured for https. Chromium accepts Secure (and so __Host-) cookies from
    http://localhost, a secure context, so no TLS is needed to run the page's JS as in production."""
    process, server = start_server(
        tmp_path_factory.mktemp("https"),
        free_port(),
        ADUAN_PUBLIC_BASE_URL="https://aduan.cilegon.go.id",
    )
    server.url = server.url.replace("127.0.0.1", "localhost")
    yield server
    stop_server(process)


def signed_in_operator(chromium, server, username):
    create_staff("operator", username)
    context, page = staff_page(chromium, server, username, {"width": 1280, "height": 900})
    page.wait_for_url("**/operator")
    return context, page


def test_behind_https_the_page_sends_the_host_only_csrf_token(chromium, https_server):
    context, page = signed_in_operator(chromium, https_server, "operator-https")
    cookies = {c["name"]: c for c in context.cookies()}
    assert {"__Host-session", "__Host-csrftoken"} <= set(cookies)
    assert "session" not in cookies and "csrftoken" not in cookies
    token = cookies["__Host-csrftoken"]["value"]

    # A sibling subdomain planted its own token: the page still sends the host-only one.
    context.add_cookies(
        [{"name": "csrftoken", "value": "planted", "domain": "localhost", "path": "/"}]
    )
    page.reload()
    assert page.evaluate("AduanPage.csrfToken()") == token

    # The token the page sends passes the server's check: a real sign-out through the page's JS.
    status = page.evaluate(
        """() => fetch("/staf/keluar", {method: "POST", redirect: "manual",
               headers: {"x-csrftoken": AduanPage.csrfToken()}}).then(r => r.type)"""
    )
    assert status == "opaqueredirect"  # 303 to the sign-in page, not 403
    page.goto(https_server.url + "/operator")
    assert "/staf/masuk" in page.url
    context.close()


def test_the_inbox_refresh_is_sent_as_a_poll(chromium, live_server):
    context, page = signed_in_operator(chromium, live_server, "operator-poll")
    with page.expect_request(lambda r: "/operator" in r.url and r.headers.get("hx-request")) as req:
        page.evaluate("document.body.dispatchEvent(new Event('ticket-changed'))")
    assert req.value.headers.get("x-aduan-poll") == "1"
    context.close()
