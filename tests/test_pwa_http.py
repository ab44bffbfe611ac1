"""PWA rules checked over HTTP: cacheable shells carry no personal data, fragments vary on HX-Request,
the worker is served from the root with its precache list, assets are content-hashed."""

from __future__ import annotations

import re

from tests.helpers import register, soup
from tests.html import has, text_of, texts_of

SHELLS = ("/", "/lapor", "/menunggu", "/offline")


def test_shell_pages_carry_no_personal_data(client):
    register(client, name="Siti Aminah")
    for path in SHELLS:
        page = client.get(path)
        assert page.status_code == 200
        assert "Siti" not in page.text, f"{path} must stay cacheable: no personal data"
    assert "Siti Aminah" in texts_of(client.get("/akun"), ".details dd")


def test_account_chip_is_an_htmx_partial_of_the_account_page(client):
    register(client, name="Siti Aminah")
    partial = client.get("/akun", headers={"HX-Request": "true"})
    full = client.get("/akun")
    for response in (partial, full):
        assert "HX-Request" in response.headers["vary"]
    assert not has(partial, "html") and text_of(partial, "a.account-chip") == "Siti"
    assert has(full, "html")
    assert "no-store" in partial.headers["cache-control"]
    anonymous = client.get("/akun", headers={"HX-Request": "true", "Cookie": ""})
    assert anonymous.status_code == 200


def test_service_worker_is_served_from_the_root_with_hashed_precache(client):
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    config = re.search(r"self\.ADUAN = (\{.*?\});", worker.text).group(1)
    urls = re.findall(r'"(/static/[^"]+)"', config)
    assert urls and all(re.search(r"\.[0-9a-f]{10}\.\w+$", url) for url in urls)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200
        assert "immutable" in asset.headers["cache-control"]
    # An unchanged worker costs a 304 on the browser's update check.
    again = client.get("/sw.js", headers={"If-None-Match": worker.headers["etag"]})
    assert again.status_code == 304


def test_stale_asset_hash_is_not_served(client):
    page = soup(client.get("/lapor"))
    css = page.find("link", rel="stylesheet")["href"]
    assert client.get(css).status_code == 200
    stale = re.sub(r"\.[0-9a-f]{10}\.css$", ".0000000000.css", css)
    assert client.get(stale).status_code == 404


def test_pages_are_compressed(client):
    response = client.get("/lapor", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"
